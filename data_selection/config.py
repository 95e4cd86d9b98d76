"""Typed configs for the data-selection stages (one dataclass per params.yaml section).

Values are filled strictly from params.yaml by a loader elsewhere; here each field is documented
and ``__post_init__`` rejects bad values with a message that starts with the field name.
Paper values (arXiv 2402.03300, section 2.1) are noted per field; sizes are scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inputs.hub import parse_hub_spec


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
    top_tokens: int = 120_000  # tokens (whitespace words) kept per round (paper: top 40B tokens)
    threads: int = 1  # fastText threads; 1 keeps training deterministic
    max_rounds: int = 4  # paper: 4 rounds
    stop_overlap: float = 0.98  # stop when this share of a round was collected in the previous one
    domain_ratio: float = 0.1  # a domain with MORE than this share of pages collected is math-related
    path_depth: int = 1  # URL path segments forming a proposed prefix (mathoverflow.net/questions: 1)
    path_accept_ratio: float = 0.3  # automatic annotation: accept a proposed prefix at this collected ratio

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
        _require_int("top_tokens", self.top_tokens, 1)
        _require_int("threads", self.threads, 1)
        _require_int("max_rounds", self.max_rounds, 1)
        _require_fraction("stop_overlap", self.stop_overlap)
        _require_fraction("domain_ratio", self.domain_ratio)
        _require_int("path_depth", self.path_depth, 1)
        _require_fraction("path_accept_ratio", self.path_accept_ratio)


@dataclass(frozen=True)
class DecontaminateConfig:
    """Benchmark n-gram decontamination (paper: 10-gram match; 3..9-token texts matched whole).

    The paper's rule is ``min_coverage=0.0, boilerplate_df=0, match_answers=True`` (``paper()``);
    the defaults depart from it as documented in ``data_selection/decontaminate.py``.
    """

    ngram: int = 10  # window length in tokens for long benchmark texts
    min_ngram: int = 3  # shorter texts with at least this many tokens are matched as a whole
    # Departure: a long benchmark text contaminates a page only when the page reproduces this share
    # of its (non-boilerplate) tokens in place around a shared window; 0.0 is the paper (any one).
    min_coverage: float = 0.9
    # Departure: a window found in at least this many distinct benchmark texts (figure preambles,
    # answer-format instructions) counts neither for nor against coverage; 0 = off (the paper).
    boilerplate_df: int = 3
    # Departure: bare final answers ("\\frac{1}{2}") are not matched; true is the paper's literal rule.
    match_answers: bool = False
    # Extra benchmarks from the Hugging Face hub, "hf:NAME[:CONFIG]@SPLIT" (inputs.hub), e.g.
    # "hf:openai/gsm8k:main@test"; local JSONL benchmarks are stage arguments (paths live in dvc.yaml).
    hub_benchmarks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_int("ngram", self.ngram, 1)
        _require_int("min_ngram", self.min_ngram, 1)
        if self.min_ngram > self.ngram:
            raise ValueError(f"min_ngram: must be <= ngram ({self.ngram}), got {self.min_ngram}")
        _require_fraction("min_coverage", self.min_coverage)
        _require_int("boilerplate_df", self.boilerplate_df, 0)
        if self.boilerplate_df == 1:  # every window is in one text: all would be boilerplate
            raise ValueError("boilerplate_df: must be 0 (off) or >= 2, got 1")
        if not isinstance(self.match_answers, bool):
            raise ValueError(f"match_answers: must be true or false, got {self.match_answers!r}")
        for spec in self.hub_benchmarks:
            try:
                parse_hub_spec(spec if isinstance(spec, str) else "")
            except ValueError:
                raise ValueError(f"hub_benchmarks: expected 'hf:NAME[:CONFIG]@SPLIT', got {spec!r}") from None

    @classmethod
    def paper(cls, ngram: int = 10, min_ngram: int = 3) -> "DecontaminateConfig":
        """The paper's literal rule: any one shared window; final answers matched too."""
        return cls(ngram=ngram, min_ngram=min_ngram, min_coverage=0.0, boilerplate_df=0, match_answers=True)


@dataclass(frozen=True)
class IngestConfig:
    """Reading crawl files (WARC, WET, ARC, JSONL, parquet) and hub datasets into pages; not in the paper."""

    min_chars: int = 200  # pages whose extracted text is shorter are dropped as "empty"
    max_bytes: int = 5_000_000  # records larger than this are dropped as "huge" (not parsed)
    keep_math_markup: bool = True  # MathJax/KaTeX/MathML/$..$ become LaTeX in the text
    # WARC records whose WARC-Block-Digest does not match are dropped as "bad_digest" (a wrong
    # Content-Length that lands on a record boundary by chance, corrupt bytes); false only for
    # archives from a writer known to record wrong digests.
    verify_digests: bool = True

    def __post_init__(self) -> None:
        _require_int("min_chars", self.min_chars, 0)
        _require_int("max_bytes", self.max_bytes, 1)
        for name in ("keep_math_markup", "verify_digests"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be true or false, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where shard work runs (not in the paper: its pipeline ran on an unnamed cluster)."""

    kind: Literal["local", "ray"] = "local"  # local processes, or Ray (RAY_ADDRESS selects a cluster)
    workers: int = 1  # local processes (1 = inline), or CPUs of a local Ray instance
    shard_mb: float = 8.0  # input bytes per shard
    ray_object_store_mb: int = 256  # object store cap of a local Ray instance

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise ValueError(f"kind: must be 'local' or 'ray', got {self.kind!r}")
        _require_int("workers", self.workers, 1)
        if not isinstance(self.shard_mb, (int, float)) or isinstance(self.shard_mb, bool) or not self.shard_mb > 0:
            raise ValueError(f"shard_mb: must be a number > 0, got {self.shard_mb!r}")
        _require_int("ray_object_store_mb", self.ray_object_store_mb, 78)  # Ray's minimum

    @property
    def shard_bytes(self) -> int:
        return max(1, int(self.shard_mb * 1024 * 1024))
