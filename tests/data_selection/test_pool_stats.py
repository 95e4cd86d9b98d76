"""Per-page facts of the pool and one round's counts (polars group-bys) on a hand-made shard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from data_selection.discovery import merge_counts
from data_selection.pool_stats import (
    KIND_SCHEMA,
    RoundCounts,
    agg_path,
    load_meta,
    round_stats_shard,
    scan_shard,
    truth_metrics,
)
from data_selection.ranking import write_run
from data_selection.shards import plan_shards

PAGES = [
    {"url": "https://M.org/questions/1", "text": "a b c", "is_math": True, "kind": "qa"},
    {"url": "https://m.org/questions/2", "text": "a b", "is_math": True, "kind": "qa"},
    {"url": "https://m.org/blog/1", "text": "x", "is_math": False, "kind": "news"},
    {"url": "https://x.com/notes/1", "text": "n n n n", "is_math": True, "kind": "notes"},
    {"url": "https://x.com/p", "text": "q", "is_math": True},  # math without a kind
]


def _scanned(tmp_path: Path) -> str:
    lines = [json.dumps(p) for p in PAGES] + [json.dumps({"url": 5, "text": "bad"}), "not json"]
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(lines) + "\n")
    (shard,) = plan_shards(path, 10**6)
    workdir = str(tmp_path / "work")
    summary = scan_shard((0, shard), 1, workdir)
    assert summary.n_valid == 5
    assert dict(summary.skipped) == {"missing_url_or_text": 1, "bad_json": 1}
    return workdir


def _round(workdir: str, round_no: int, scores: list[float]) -> None:
    tokens = load_meta(workdir, 0, ["tokens"])["tokens"].to_list()
    write_run(workdir, round_no, 0, np.array(scores), [p["url"] for p in PAGES], tokens)


def test_scan_keeps_host_prefix_tokens_and_truth(tmp_path: Path) -> None:
    meta = load_meta(_scanned(tmp_path), 0, ["host", "prefix", "tokens", "is_math", "kind"])
    assert meta.rows() == [("m.org", "/questions", 3, 1, "qa"), ("m.org", "/questions", 2, 1, "qa"),
                           ("m.org", "/blog", 1, 0, "news"), ("x.com", "/notes", 4, 1, "notes"),
                           ("x.com", "/p", 1, 1, None)]


def test_round_counts_by_hand(tmp_path: Path) -> None:
    workdir = _scanned(tmp_path)
    # Round 1 takes the top 3 scores: pages 0 (0.9), 2 (0.8), 3 (0.7).
    _round(workdir, 1, [0.9, 0.2, 0.8, 0.7, 0.1])
    one = round_stats_shard((0, 3, None), 1, workdir)
    # Math pages 0, 1, 3, 4; collected math 0 and 3; qa: 2 pages, 1 collected; notes: 1, 1.
    assert (one.pages, one.overlap, one.no_truth, one.math, one.math_hit) == (5, 0, 0, 4, 2)
    assert one.kinds.sort("kind").rows() == [("notes", 1, 1), ("qa", 2, 1)]
    # recall 2/4, precision 2/3; per kind recall hits/pages, share hits/3 collected.
    assert truth_metrics(one, 3) == {"recall": 0.5, "precision": 2 / 3, "recall_notes": 1.0, "share_notes": 1 / 3,
                                     "recall_qa": 0.5, "share_qa": 1 / 3}
    # Per (host, prefix): m.org/questions 2 pages 1 collected, /blog 1 1, x.com/notes 1 1, /p 1 0.
    table = merge_counts([agg_path(workdir, 1, 0)]).sort(["host", "prefix"])
    assert table.rows() == [("m.org", "/blog", 1, 1), ("m.org", "/questions", 2, 1),
                            ("x.com", "/notes", 1, 1), ("x.com", "/p", 1, 0)]
    # Round 2 takes the top 2: pages 1 (0.9) and 2 (0.8); page 2 was collected in round 1 too.
    _round(workdir, 2, [0.1, 0.9, 0.8, 0.2, 0.3])
    two = round_stats_shard((0, 2, 3), 2, workdir)
    assert (two.overlap, two.math_hit) == (1, 1)
    assert two.kinds.sort("kind").rows() == [("notes", 1, 0), ("qa", 2, 1)]


def test_shard_counts_add_up_per_kind() -> None:
    a = RoundCounts(pages=3, math=2, math_hit=1,
                    kinds=pl.DataFrame({"kind": ["qa"], "pages": [2], "collected": [1]}, schema=KIND_SCHEMA))
    b = RoundCounts(pages=4, overlap=1, math=4, math_hit=2,
                    kinds=pl.DataFrame({"kind": ["qa", "latex"], "pages": [1, 3], "collected": [1, 0]},
                                       schema=KIND_SCHEMA))
    total = RoundCounts()
    total.add(a)
    total.add(b)
    assert (total.pages, total.overlap, total.math, total.math_hit) == (7, 1, 6, 3)
    assert total.kinds.sort("kind").rows() == [("latex", 3, 0), ("qa", 3, 2)]
    # 4 pages collected: recall 3/6; qa 2/3 and 2/4; latex 0/3 and 0/4.
    assert truth_metrics(total, 4) == {"recall": 0.5, "precision": 0.75, "recall_latex": 0.0, "share_latex": 0.0,
                                       "recall_qa": 2 / 3, "share_qa": 0.5}
    assert truth_metrics(total, 0)["share_qa"] == 0.0  # nothing collected: shares are 0, not a division by 0


def test_shares_are_python_divisions_not_polars_reciprocals() -> None:
    # metrics/mine.json round 2: 184 word problems among 771 collected pages. Polars computes
    # col / 771 as col * (1 / 771), one ulp away here; the metric must be 184 / 771 itself.
    kinds = pl.DataFrame({"kind": ["word_problem"], "pages": [188], "collected": [184]}, schema=KIND_SCHEMA)
    share = truth_metrics(RoundCounts(pages=2000, math=188, math_hit=184, kinds=kinds), 771)["share_word_problem"]
    assert share == 184 / 771 == 0.23865110246433205
    # The hazard this guards against (a column of several rows takes the reciprocal path).
    assert pl.DataFrame({"c": [184, 180]}).select(pl.col("c") / 771)["c"][0] != share
