"""Byte-range shards and the executors: local inline, local processes and Ray give one output."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from data_selection.config import DedupConfig, ExecutorConfig, WebConfig
from data_selection.dedup import compute_signatures, decide_and_write, dedup
from data_selection.executors import PeakRss, peak_rss_mb, run_shards
from inputs.jsonl import write_jsonl_atomic
from data_selection.shards import iter_shards, plan_shards
from data_selection.synthetic_web import generate_web

WEB = WebConfig(n_domains=12, pages_per_domain=15, math_domain_fraction=0.2, mixed_domain_fraction=0.2,
                near_dup_fraction=0.2, url_dup_fraction=0.1, n_seed_pages=10, n_planted=2, words_per_page=60)


@pytest.fixture(scope="module")
def web_file(tmp_path_factory) -> Path:
    pool, _ = generate_web(WEB, 0, [("t/1:question", "What is the sum of 4 and 9 apples in the basket?")])
    path = tmp_path_factory.mktemp("web") / "web.jsonl"
    write_jsonl_atomic(path, pool)
    with path.open("a") as fh:
        fh.write("not json\n{\"url\": 5}\n")  # one malformed line and one page without text
    return path


def test_shards_cover_every_line_once(web_file: Path) -> None:
    lines = web_file.read_text().splitlines()
    for shard_bytes in (1, 700, 10_000, 10**9):
        skipped: Counter[str] = Counter()
        got = list(iter_shards(plan_shards(web_file, shard_bytes), skipped))
        assert [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in got] == lines[:-2] + ['{"url": 5}']
        assert skipped == Counter({"bad_json": 1})


def _run(web_file: Path, cfg: ExecutorConfig, tmp: Path) -> tuple[bytes, dict]:
    shards = plan_shards(web_file, 20_000)
    signed = compute_signatures(shards, DedupConfig(), 0, cfg, tmp / "work")
    stats = decide_and_write(signed, shards, DedupConfig(), cfg, tmp / "kept.jsonl")
    return (tmp / "kept.jsonl").read_bytes(), stats


def test_sharded_dedup_equals_in_memory(web_file: Path, tmp_path: Path) -> None:
    kept, stats = _run(web_file, ExecutorConfig(workers=1), tmp_path)
    pages = list(iter_shards(plan_shards(web_file, 10**9), Counter()))
    ref_kept, ref_stats = dedup(pages, DedupConfig(), 0)
    assert [json.loads(line) for line in kept.decode().splitlines()] == ref_kept
    assert stats["malformed"] == {"bad_json": 1, "missing_url_or_text": 1}
    assert {k: v for k, v in stats.items() if k != "malformed"} == \
        {k: v for k, v in ref_stats.items() if k != "malformed"}
    assert stats["near_duplicates"] > 0 and stats["url_duplicates"] > 0


def test_process_pool_equals_inline(web_file: Path, tmp_path: Path) -> None:
    assert _run(web_file, ExecutorConfig(workers=2), tmp_path / "a") == \
        _run(web_file, ExecutorConfig(workers=1), tmp_path / "b")


def test_ray_executor_equals_local(web_file: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[dev]' or '.[scale]')")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    peak = PeakRss()
    try:
        got = _run(web_file, ExecutorConfig(kind="ray", workers=2, ray_object_store_mb=100), tmp_path / "a")
        pids = run_shards(_pid_and_square, [1, 2, 3], (), ExecutorConfig(kind="ray", workers=2), peak)
    finally:
        ray.shutdown()
    assert got == _run(web_file, ExecutorConfig(workers=1), tmp_path / "b")
    assert [sq for _, sq in pids] == [1, 4, 9] and os.getpid() not in {pid for pid, _ in pids}
    assert 10 < peak.worker_mb < 4096  # the Ray workers' own peak RSS came back with the results


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_run_shards_keeps_order_and_reports_worker_memory() -> None:
    peak = PeakRss()
    got = run_shards(_pid_and_square, list(range(6)), (), ExecutorConfig(workers=2), peak)
    assert [sq for _, sq in got] == [0, 1, 4, 9, 16, 25]
    assert os.getpid() not in {pid for pid, _ in got}  # ran in the pool's processes
    # A spawned worker's own high-water mark, not the parent's RSS inherited through fork + exec.
    assert 5 < peak.worker_mb < 1024
    again = run_shards(_pid_and_square, [7], (), ExecutorConfig(workers=2), PeakRss())
    assert again[0][1] == 49 and again[0][0] != os.getpid()  # one item still goes to the (kept) pool
    assert run_shards(_pid_and_square, [], (), ExecutorConfig(workers=2)) == []
    inline = PeakRss()
    assert run_shards(_pid_and_square, [3], (), ExecutorConfig(workers=1), inline)[0] == (os.getpid(), 9)
    assert inline.worker_mb == pytest.approx(peak_rss_mb(), rel=0.5)
