"""Typed configs for the data-selection stages (one dataclass per params.yaml section).

Values are filled strictly from params.yaml by a loader elsewhere; here each field is documented
and ``__post_init__`` rejects bad values with a message that starts with the field name.
Paper values (arXiv 2402.03300, section 2.1) are noted per field; sizes are scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass


def _require_int(name: str, value: object, minimum: int) -> None:
    # bool is an int subclass: reject it so `true` in YAML is not read as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")


def _require_fraction(name: str, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: must be in [0, 1], got {value}")


@dataclass(frozen=True)
class WebConfig:
    """Shape of the synthetic web (the Common Crawl analogue) and of its seed corpus."""

    n_domains: int  # number of hosts: math-only + mixed + non-math
    pages_per_domain: int  # original pages per host (before mirrors, re-crawls, planted pages)
    math_domain_fraction: float  # share of hosts whose pages are all math
    mixed_domain_fraction: float  # share of hosts with math under /questions/ or /courses/ only
    near_dup_fraction: float  # share of original pages that also appear on a mirror host, lightly edited
    url_dup_fraction: float  # share of original pages re-emitted under the same (normalised) URL
    n_seed_pages: int  # size of the seed corpus (OpenWebMath analogue), generated apart from the pool
    n_planted: int  # pool pages that embed a benchmark test problem verbatim
    words_per_page: int  # approximate body length of a page in words

    def __post_init__(self) -> None:
        _require_int("n_domains", self.n_domains, 1)
        _require_int("pages_per_domain", self.pages_per_domain, 1)
        _require_fraction("math_domain_fraction", self.math_domain_fraction)
        _require_fraction("mixed_domain_fraction", self.mixed_domain_fraction)
        if self.math_domain_fraction + self.mixed_domain_fraction > 1.0:
            raise ValueError(
                "mixed_domain_fraction: math_domain_fraction + mixed_domain_fraction must be <= 1, "
                f"got {self.math_domain_fraction} + {self.mixed_domain_fraction}"
            )
        _require_fraction("near_dup_fraction", self.near_dup_fraction)
        _require_fraction("url_dup_fraction", self.url_dup_fraction)
        _require_int("n_seed_pages", self.n_seed_pages, 1)
        _require_int("n_planted", self.n_planted, 0)
        _require_int("words_per_page", self.words_per_page, 20)


@dataclass(frozen=True)
class DedupConfig:
    """Exact-URL then MinHash near-dedup (the paper gives no near-dedup method or parameters)."""

    shingle_size: int = 5  # words per shingle (DataTrove's default 5-gram)
    num_perm: int = 128  # MinHash permutations
    bands: int = 14  # LSH bands b
    rows: int = 8  # rows per band r; threshold ~ (1/b)^(1/r), 14x8 -> ~0.72

    def __post_init__(self) -> None:
        _require_int("shingle_size", self.shingle_size, 1)
        _require_int("num_perm", self.num_perm, 2)
        _require_int("bands", self.bands, 1)
        _require_int("rows", self.rows, 1)
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands: bands * rows must be <= num_perm, got {self.bands} * {self.rows} > {self.num_perm}"
            )

    @property
    def threshold(self) -> float:
        """Jaccard threshold implied by bands and rows, (1/b)^(1/r): near the S-curve's steepest point."""
        return (1.0 / self.bands) ** (1.0 / self.rows)


@dataclass(frozen=True)
class MineConfig:
    """fastText classifier and recall cut (paper: dim 256, lr 0.1, wordNgrams 3, minCount 3, epoch 3)."""

    dim: int = 256  # word-vector dimension
    lr: float = 0.1  # learning rate
    word_ngrams: int = 3  # max word n-gram length
    min_count: int = 3  # minimal word occurrences
    epoch: int = 3  # passes over the training file
    bucket: int = 100_000  # hash buckets for n-grams; fastText's 2M gives a 2 GB model at dim 256
    n_positives: int = 1500  # seed pages used as positives (paper: 500K)
    n_negatives: int = 1500  # random pool pages used as negatives (paper: 500K)
    top_n: int = 600  # pages kept after ranking (paper: top 40B tokens; counted in pages here)
    threads: int = 1  # fastText threads; 1 keeps training deterministic

    def __post_init__(self) -> None:
        _require_int("dim", self.dim, 1)
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or not self.lr > 0:
            raise ValueError(f"lr: must be a number > 0, got {self.lr!r}")
        _require_int("word_ngrams", self.word_ngrams, 1)
        _require_int("min_count", self.min_count, 1)
        _require_int("epoch", self.epoch, 1)
        _require_int("bucket", self.bucket, 1)
        _require_int("n_positives", self.n_positives, 1)
        _require_int("n_negatives", self.n_negatives, 1)
        _require_int("top_n", self.top_n, 1)
        _require_int("threads", self.threads, 1)


@dataclass(frozen=True)
class DecontaminateConfig:
    """Benchmark n-gram decontamination (paper: 10-gram match; 3..9-token texts matched whole)."""

    ngram: int = 10  # window length in tokens for long benchmark texts
    min_ngram: int = 3  # shorter texts with at least this many tokens are matched as a whole

    def __post_init__(self) -> None:
        _require_int("ngram", self.ngram, 1)
        _require_int("min_ngram", self.min_ngram, 1)
        if self.min_ngram > self.ngram:
            raise ValueError(f"min_ngram: must be <= ngram ({self.ngram}), got {self.min_ngram}")
