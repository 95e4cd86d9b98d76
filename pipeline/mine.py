"""Stage `mine`: fastText classifier (seed vs random pool pages), rank the pool, keep the top N."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from data_selection.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from data_selection.mine import mine
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pool", required=True, help="input: deduplicated pool pages (JSONL)")
    p.add_argument("--seed-pages", required=True, help="input: seed corpus (JSONL)")
    p.add_argument("--out", required=True, help="output: mined pages with scores (JSONL)")
    p.add_argument("--metrics", required=True, help="output: precision/recall vs ground truth (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    skipped: Counter[str] = Counter()
    pool = list(read_jsonl(args.pool, skipped))
    seed_pages = list(read_jsonl(args.seed_pages, skipped))
    if not pool:
        raise ValueError(f"{args.pool}: the pool is empty")
    if not seed_pages:
        raise ValueError(f"{args.seed_pages}: the seed corpus is empty")
    with tempfile.TemporaryDirectory() as workdir:
        kept, metrics = mine(pool, seed_pages, params.mine, params.seed, Path(workdir))
    metrics["malformed_lines"] = dict(skipped)
    write_jsonl_atomic(args.out, kept)
    write_json_atomic(args.metrics, metrics)
    stage.log.info("mine: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
