"""Domain discovery and the accepted-paths annotation (DeepSeekMath §2.1, between rounds).

The paper: a domain (pages sharing a base URL) with more than 10% of its pages collected in a
round is math-related; people then annotate the math URL paths inside it (e.g.
mathoverflow.net/questions), and uncollected pages under those paths join the seed corpus.

Here a domain is the URL's lower-cased host, a path prefix is the first ``path_depth`` segments
of the URL path, and every prefix of a discovered domain is proposed with its collected ratio.
Which proposals are accepted comes from the annotation file (a versioned YAML in the repo):
- ``accepted: auto`` (or an empty file): the automatic rule accepts a prefix whose collected
  ratio is at least ``path_accept_ratio`` (a departure: the paper's annotators were people);
- ``accepted: [host/prefix, ...]``: exactly the listed paths are accepted, once their domain is
  discovered. A person fills it from the proposals the `mine` stage writes each run.

The statistics are counts per (host, path prefix): mining workers count their shard's pages with
``prefix_counts`` and the driver sums the tables with a polars group-by (``merge_counts``), so
discovery never needs a list of pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import yaml

AUTO = "auto"


def host_of(url: str) -> str:
    """Lower-cased host of ``url`` ("" when it has none)."""
    return (urlsplit(url).hostname or "").lower()


def path_prefix(url: str, depth: int) -> str:
    """The first ``depth`` segments of the URL path, e.g. ("https://a.org/q/7/x", 1) -> "/q"."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return "/" + "/".join(segments[:depth])


def load_annotation(path: str | Path) -> tuple[str, ...] | None:
    """Accepted ``host/prefix`` entries from the annotation file, or None for the automatic rule."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if raw is None or raw == AUTO:
        return None
    value = raw.get("accepted") if isinstance(raw, dict) else raw
    if value is None or value == AUTO:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and "/" in v for v in value):
        raise ValueError(f"{path}: accepted: expected `auto` or a list of host/path entries, got {value!r}")
    return tuple(v.strip().lower().rstrip("/") for v in value)


@dataclass(frozen=True, order=True)
class Proposal:
    """A path prefix of a math-related domain, with how much of it the round collected."""

    domain: str
    prefix: str
    pages: int
    collected: int

    @property
    def ratio(self) -> float:
        return self.collected / self.pages

    @property
    def key(self) -> str:
        return f"{self.domain}{self.prefix}".lower()


def prefix_counts(hosts: Sequence[str] | pl.Series, prefixes: Sequence[str] | pl.Series,
                  collected: Sequence[bool] | np.ndarray) -> pl.DataFrame:
    """Pages and collected pages per (host, prefix): what a shard worker sends up instead of pages."""
    frame = pl.DataFrame({"host": pl.Series(hosts, dtype=pl.Utf8), "prefix": pl.Series(prefixes, dtype=pl.Utf8),
                          "hit": pl.Series(np.asarray(collected, dtype=bool), dtype=pl.Boolean)})
    return frame.group_by(["host", "prefix"]).agg(pl.len().cast(pl.Int64).alias("pages"),
                                                  pl.col("hit").sum().cast(pl.Int64).alias("collected"))


def merge_counts(tables: Sequence[str | Path | pl.DataFrame]) -> pl.DataFrame:
    """Sum per-shard ``prefix_counts`` tables (frames or parquet files) into one for the pool."""
    frames = [pl.scan_parquet(t) if isinstance(t, (str, Path)) else t.lazy() for t in tables]
    if not frames:
        return prefix_counts([], [], [])
    return (pl.concat(frames).group_by(["host", "prefix"])
            .agg(pl.col("pages").sum(), pl.col("collected").sum()).collect())


def domain_table(counts: pl.DataFrame) -> pl.DataFrame:
    """Per domain (host): pages, collected pages and their ratio, sorted by host.

    The ratio divides two columns, which polars does element by element in IEEE double, the
    value of Python's ``collected / pages`` (checked on 200k random pairs; dividing by a constant
    is another matter: polars multiplies by the reciprocal), so the >10% rule decides as before.
    """
    return (counts.group_by("host").agg(pl.col("pages").sum(), pl.col("collected").sum())
            .with_columns((pl.col("collected") / pl.col("pages")).alias("ratio")).sort("host"))


def discover_domains(counts: pl.DataFrame, min_ratio: float) -> list[str]:
    """Domains with MORE than ``min_ratio`` of their pages collected (the paper's >10%), sorted."""
    return domain_table(counts).filter(pl.col("ratio") > min_ratio)["host"].to_list()


def propose_paths(counts: pl.DataFrame, discovered: list[str]) -> list[Proposal]:
    """Every prefix inside a discovered domain with its page and collected counts, sorted.

    (host, prefix) is unique in a merged table, so sorting on it is ``Proposal``'s own order;
    polars compares strings by UTF-8 bytes, which is Python's code-point order.
    """
    inside = counts.filter(pl.col("host").is_in(list(discovered))).sort(["host", "prefix"])
    return [Proposal(*row) for row in inside.select("host", "prefix", "pages", "collected").iter_rows()]


def proposal_frame(round_no: int, proposals: Sequence[Proposal], accepted: Sequence[Proposal]) -> pl.DataFrame:
    """The round's rows of ``proposals.json``: path, counts, ratio (4 decimals) and the decision.

    The ratio is rounded by Python's ``round`` (correctly rounded from the float's exact value),
    not polars' ``round``, so the file stays byte-identical to the log written before polars.
    """
    keys = {p.key for p in accepted}
    return pl.DataFrame({
        "round": pl.Series([round_no] * len(proposals), dtype=pl.Int64),
        "path": pl.Series([p.key for p in proposals], dtype=pl.Utf8),
        "pages": pl.Series([p.pages for p in proposals], dtype=pl.Int64),
        "collected": pl.Series([p.collected for p in proposals], dtype=pl.Int64),
        "ratio": pl.Series([round(p.ratio, 4) for p in proposals], dtype=pl.Float64),
        "accepted": pl.Series([p.key in keys for p in proposals], dtype=pl.Boolean),
    })


def accept(proposals: list[Proposal], annotation: tuple[str, ...] | None, min_ratio: float) -> list[Proposal]:
    """Proposals accepted by the annotation list, or by the automatic ratio rule when it is None."""
    if annotation is None:
        return [p for p in proposals if p.ratio >= min_ratio]
    listed = set(annotation)
    return [p for p in proposals if p.key in listed]
