"""Decontaminate a JSONL corpus against benchmark JSONL files (DeepSeekMath §2.1).

A page is removed when any 10-gram of it exactly matches a 10-gram of a benchmark question or
answer; benchmark texts of 3 to 9 tokens are matched as a whole. Benchmarks may be in GSM8K
layout (question/answer) or MATH layout (problem/solution/answer), detected per file. Works
inside the pipeline (with --params) and standalone:

  python -m pipeline.decontaminate --corpus CORPUS.jsonl --benchmark B1.jsonl \\
      [--benchmark B2.jsonl ...] --output KEPT.jsonl --report REPORT.json

With --params, the `decontaminate` section may also name hub benchmarks ("name[:config]:split").
Item ids in the report read `SOURCE|RECORD:FIELD`, e.g. `gsm8k/test|17:question`; SOURCE is the
benchmark file's folder/stem.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter

from data_selection.benchmark_items import benchmark_items, hub_items
from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import decontaminate
from data_selection.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from pipeline import stage
from pipeline.config import load_params


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="input: pages with `url` and `text` (JSONL)")
    p.add_argument("--benchmark", required=True, action="append", help="benchmark JSONL (repeatable)")
    p.add_argument("--output", required=True, help="output: kept pages (JSONL)")
    p.add_argument("--report", required=True, help="output: removed pages with the item that hit each (JSON)")
    p.add_argument("--metrics", help="output: counts only (JSON), for DVC")
    p.add_argument("--params", help="params file whose `decontaminate` section to use (default: paper values)")
    p.add_argument("--ngram", type=int, default=10, help="n-gram length without --params (paper: 10)")
    p.add_argument("--min-ngram", type=int, default=3, help="shortest benchmark text matched whole (paper: 3)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    cfg = load_params(args.params).decontaminate if args.params else DecontaminateConfig(args.ngram, args.min_ngram)
    skipped: Counter[str] = Counter()
    items = [item for path in args.benchmark for item in benchmark_items(stage.require_file(path), skipped)]
    items += [item for spec in cfg.hub_benchmarks for item in hub_items(spec, skipped)]
    pages = []
    for page in read_jsonl(args.corpus, skipped):
        if isinstance(page.get("text"), str) and isinstance(page.get("url"), str):
            pages.append(page)
        else:
            skipped["page_without_url_or_text"] += 1
    if not pages:
        raise ValueError(f"{args.corpus}: no pages with `url` and `text`")
    kept, removed, stats = decontaminate(pages, items, cfg)
    stats["skipped"] = dict(skipped)
    write_jsonl_atomic(args.output, kept)
    write_json_atomic(args.report, {"stats": stats, "removed": removed})
    if args.metrics:
        write_json_atomic(args.metrics, stats)
    stage.log.info("decontaminate: kept %d, removed %d; %s", len(kept), len(removed), stats)


if __name__ == "__main__":
    stage.run(main)
