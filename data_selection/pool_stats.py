"""Per-page facts of the mining pool kept on disk, and the per-round counts workers return.

``scan_shard`` reads a shard once and writes the facts the rounds need about each valid page,
without its text or URL, to ``meta/<shard>.parquet``: host, path prefix, token count (whitespace
words), ground truth (``is_math``: 1, 0 or -1 when absent; ``kind``). Each round,
``round_stats_shard`` joins them with the pages the round collected and returns only aggregates:
pages and collected pages per (host, path prefix) (written as a small parquet for the driver's
polars group-by), collected pages already collected in the previous round, and ground-truth
counts overall and per math kind (a polars group-by over the shard's pages; the driver sums the
shards' small per-kind frames). Nothing per page travels back to the driver.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from data_selection.dedup import valid_page
from data_selection.discovery import host_of, path_prefix, prefix_counts
from data_selection.ranking import collected_locals
from data_selection.shard_arrays import array_path
from data_selection.shards import Shard, iter_shard


def meta_path(workdir: str, shard: int) -> Path:
    return array_path(workdir, "meta", shard).with_suffix(".parquet")


def agg_path(workdir: str, round_no: int, shard: int) -> Path:
    return array_path(workdir, f"agg_r{round_no}", shard).with_suffix(".parquet")


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


@dataclass(frozen=True)
class ScanSummary:
    n_valid: int
    skipped: Counter[str]


def scan_shard(item: tuple[int, Shard], path_depth: int, workdir: str) -> ScanSummary:
    """Shard worker: the per-page facts of the shard's valid pages (invalid ones counted)."""
    index, shard = item
    skipped: Counter[str] = Counter()
    rows: dict[str, list] = {"url": [], "tokens": [], "is_math": [], "kind": []}
    for page in iter_shard(shard, skipped):
        if not valid_page(page):
            skipped["missing_url_or_text"] += 1
            continue
        rows["url"].append(page["url"])
        rows["tokens"].append(len(page["text"].split()))
        truth = page.get("is_math")
        rows["is_math"].append(int(truth) if isinstance(truth, bool) else -1)
        rows["kind"].append(page["kind"] if isinstance(page.get("kind"), str) else None)
    frame = pl.DataFrame({
        "host": pl.Series([host_of(u) for u in rows["url"]], dtype=pl.Utf8),
        "prefix": pl.Series([path_prefix(u, path_depth) for u in rows["url"]], dtype=pl.Utf8),
        "tokens": pl.Series(rows["tokens"], dtype=pl.Int64),
        "is_math": pl.Series(rows["is_math"], dtype=pl.Int8),
        "kind": pl.Series(rows["kind"], dtype=pl.Utf8),
    })
    _write_parquet(frame, meta_path(workdir, index))
    return ScanSummary(len(frame), skipped)


def load_meta(workdir: str, shard: int, columns: list[str]) -> pl.DataFrame:
    return pl.read_parquet(meta_path(workdir, shard), columns=columns)


def hit_mask(workdir: str, round_no: int, shard: int, count: int, n: int) -> np.ndarray:
    """Bool per local page: collected in the round (the first ``count`` pages of its run)."""
    hit = np.zeros(n, dtype=bool)
    hit[collected_locals(workdir, round_no, shard, count)] = True
    return hit


# Math pages and how many of them the round collected, per ground-truth kind.
KIND_SCHEMA = {"kind": pl.Utf8, "pages": pl.Int64, "collected": pl.Int64}


def _no_kinds() -> pl.DataFrame:
    return pl.DataFrame(schema=KIND_SCHEMA)


@dataclass
class RoundCounts:
    """One shard's (or, summed, the pool's) counts for a round's metrics."""

    pages: int = 0
    overlap: int = 0  # collected in this round and the previous one
    no_truth: int = 0  # pages without a boolean is_math
    math: int = 0
    math_hit: int = 0
    kinds: pl.DataFrame = field(default_factory=_no_kinds)  # KIND_SCHEMA rows, one per kind

    def add(self, other: "RoundCounts") -> None:
        self.pages += other.pages
        self.overlap += other.overlap
        self.no_truth += other.no_truth
        self.math += other.math
        self.math_hit += other.math_hit
        self.kinds = (pl.concat([self.kinds, other.kinds]).group_by("kind")
                      .agg(pl.col("pages").sum(), pl.col("collected").sum()))


def round_stats_shard(item: tuple[int, int, int | None], round_no: int, workdir: str) -> RoundCounts:
    """Shard worker: write the (host, prefix) counts of the round; return the shard's counts.

    ``item`` is (shard, pages collected from it this round, and in the previous round or None).
    """
    index, count, prev_count = item
    meta = load_meta(workdir, index, ["host", "prefix", "is_math", "kind"])
    n = len(meta)
    hit = hit_mask(workdir, round_no, index, count, n)
    _write_parquet(prefix_counts(meta["host"], meta["prefix"], hit), agg_path(workdir, round_no, index))
    out = RoundCounts(pages=n)
    if prev_count is not None:
        out.overlap = int(np.count_nonzero(hit & hit_mask(workdir, round_no - 1, index, prev_count, n)))
    frame = meta.with_columns(pl.Series("hit", hit, dtype=pl.Boolean))
    is_math = pl.col("is_math") == 1
    out.no_truth, out.math, out.math_hit = frame.select(
        (pl.col("is_math") < 0).sum().alias("no_truth"), is_math.sum().alias("math"),
        (is_math & pl.col("hit")).sum().alias("math_hit")).row(0)
    # A math page without a kind (null or "") counts in recall overall but in no kind's row.
    out.kinds = (frame.filter(is_math & (pl.col("kind").str.len_bytes() > 0)).group_by("kind")
                 .agg(pl.len().cast(pl.Int64).alias("pages"), pl.col("hit").sum().cast(pl.Int64).alias("collected")))
    return out


def truth_metrics(counts: RoundCounts, collected: int) -> dict:
    """Recall and precision against ground truth, overall and per math kind (empty without it)."""
    if not counts.pages or counts.no_truth:
        return {}
    hits = counts.math_hit
    out: dict = {"recall": hits / counts.math if counts.math else 0.0,
                 "precision": hits / collected if collected else 0.0}
    # The ratios are divided in Python: polars turns a division by a constant into a
    # multiplication by its reciprocal, which differs from x / n in the last bit for 14-36% of
    # values (measured on 200k random counts), and metrics/mine.json must not move.
    for kind, n, kind_hits in counts.kinds.sort("kind").select("kind", "pages", "collected").iter_rows():
        out[f"recall_{kind}"] = kind_hits / n
        out[f"share_{kind}"] = kind_hits / collected if collected else 0.0
    return out
