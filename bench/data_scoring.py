"""Scoring stage throughput vs raw fastText predict on the same texts (goal: ratio >= 0.8).

The stage path reads JSONL shards, cleans each text and predicts (data_selection.classifier.
score_shard, on the local executor); the raw path calls model.predict on the pre-cleaned list.

  python bench/data_scoring.py [--pages 20000] [--workers 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from data_selection.classifier import clean_text, score_shard, train_classifier
from data_selection.config import ExecutorConfig, MineConfig, WebConfig
from data_selection.executors import run_shards
from inputs.jsonl import write_jsonl_atomic
from data_selection.shards import plan_shards
from data_selection.synthetic_web import generate_web


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pages", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    cfg = WebConfig(n_domains=max(1, args.pages // 40), pages_per_domain=40, math_domain_fraction=0.2,
                    mixed_domain_fraction=0.2, near_dup_fraction=0.0, url_dup_fraction=0.0,
                    n_seed_pages=500, n_planted=0, words_per_page=150)
    pool, seeds = generate_web(cfg, 0, [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = train_classifier([s["text"] for s in seeds], [q["text"] for q in pool[:500]],
                                 MineConfig(bucket=100_000), 0, work)
        model_path = str(work / "m.bin")
        model.save_model(model_path)
        write_jsonl_atomic(work / "pool.jsonl", pool)
        shards = plan_shards(work / "pool.jsonl", 1 << 20)
        ex = ExecutorConfig(workers=args.workers)
        run_shards(score_shard, shards[:1], (model_path,), ex)  # load the model once (cached per process)
        t0 = time.perf_counter()
        stage = np.concatenate(run_shards(score_shard, shards, (model_path,), ex))
        t_stage = time.perf_counter() - t0
        cleaned = [clean_text(q["text"]) for q in pool]
        t0 = time.perf_counter()
        model.predict(cleaned, k=2)
        t_raw = time.perf_counter() - t0
    print(f"pages={len(pool)} stage={len(stage) / t_stage:,.0f} pages/s raw_predict={len(pool) / t_raw:,.0f} "
          f"pages/s ratio={t_raw / t_stage:.2f} (workers={args.workers})")


if __name__ == "__main__":
    main()
