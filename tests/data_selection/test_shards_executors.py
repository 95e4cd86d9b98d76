"""Byte-range shards and the executors: local inline, local processes and Ray give one output."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from data_selection.config import DedupConfig, ExecutorConfig, WebConfig
from data_selection.dedup import decide, dedup, dedup_stats, kept_records, signature_shard
from data_selection.executors import run_shards
from data_selection.jsonl import write_jsonl_atomic
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


def _run(web_file: Path, cfg: ExecutorConfig) -> tuple[list[dict], dict]:
    shards = plan_shards(web_file, 20_000)
    batches = run_shards(signature_shard, shards, (DedupConfig(), 0), cfg)
    dec = decide(batches, DedupConfig())
    return list(kept_records(shards, dec)), dedup_stats(batches, dec, DedupConfig())


def test_sharded_dedup_equals_in_memory(web_file: Path) -> None:
    kept, stats = _run(web_file, ExecutorConfig(workers=1))
    pages = list(iter_shards(plan_shards(web_file, 10**9), Counter()))
    ref_kept, ref_stats = dedup(pages, DedupConfig(), 0)
    assert kept == ref_kept
    assert stats["malformed"] == {"bad_json": 1, "missing_url_or_text": 1}
    assert {k: v for k, v in stats.items() if k != "malformed"} == \
        {k: v for k, v in ref_stats.items() if k != "malformed"}
    assert stats["near_duplicates"] > 0 and stats["url_duplicates"] > 0


def test_process_pool_equals_inline(web_file: Path) -> None:
    assert _run(web_file, ExecutorConfig(workers=2)) == _run(web_file, ExecutorConfig(workers=1))


def test_ray_executor_equals_local(web_file: Path) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[dev]' or '.[scale]')")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        got = _run(web_file, ExecutorConfig(kind="ray", workers=2, ray_object_store_mb=100))
    finally:
        ray.shutdown()
    assert got == _run(web_file, ExecutorConfig(workers=1))
