"""Decontaminate a JSONL corpus against benchmarks (DeepSeekMath §2.1, with the departures
documented in data_selection/decontaminate.py). Works inside the pipeline (with --params) and
standalone:

  python -m pipeline.decontaminate [--params params.yaml] --corpus CORPUS.jsonl \\
      --benchmark B1.jsonl [--benchmark [NAME=]B2.jsonl ...] --output KEPT.jsonl \\
      --report REPORT.json [--metrics M.json]

A benchmark file may be raw GSM8K layout (question/answer with `#### N`), raw MATH / MATH-500
layout (problem/solution) or already normalised (`data/benchmarks/*.jsonl`); all are read by
`inputs.problems`. Its name (the SOURCE of item ids `SOURCE|RECORD:FIELD` and the key of the
per-benchmark counts) is NAME when given, else the records' own `source` (normalised files), else
`synthetic`-style names from ids like `synthetic-test/3`, else the file's folder when its stem is
a split name (`.../gsm8k/test.jsonl` -> `gsm8k`). With --params, the `decontaminate` section may
also name hub benchmarks (`hf:NAME[:CONFIG]@SPLIT`). Without --params the rule is
DecontaminateConfig's defaults, or the paper's literal rule with --rule paper.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from typing import Iterator

from tqdm import tqdm

from data_selection.benchmark_items import read_benchmarks
from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import Screen
from inputs.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic, write_metrics_atomic
from pipeline import stage
from pipeline.config import load_params


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="input: pages with `url` and `text` (JSONL)")
    p.add_argument("--benchmark", required=True, action="append", help="benchmark [NAME=]JSONL (repeatable)")
    p.add_argument("--output", required=True, help="output: kept pages (JSONL)")
    p.add_argument("--report", required=True, help="output: stats and removed pages with the item that hit each (JSON)")
    p.add_argument("--metrics", help="output: stats only (JSON), for DVC")
    p.add_argument("--params", help="params file whose `decontaminate` section to use")
    p.add_argument("--rule", choices=("default", "paper"), help="without --params: DecontaminateConfig() "
                   "(default) or the paper's literal rule (any shared 10-gram; final answers matched)")
    p.add_argument("--ngram", type=int, help="without --params: window length (paper: 10)")
    p.add_argument("--min-ngram", type=int, help="without --params: shortest text matched whole (paper: 3)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    cfg = _config(args)
    items, read_counts = read_benchmarks([*args.benchmark, *cfg.hub_benchmarks])
    skipped: Counter[str] = Counter()
    screen = Screen(items, cfg)
    # Pages stream from the corpus to the output: memory does not grow with the corpus.
    pages = tqdm(_valid_pages(args.corpus, skipped), desc="decontaminate: pages", unit="page", mininterval=2)
    write_jsonl_atomic(args.output, screen.kept(pages))
    stats = screen.stats()
    stats["skipped"] = dict(sorted(skipped.items()))
    stats["benchmark_read"] = read_counts  # the normaliser's counts per --benchmark argument
    write_json_atomic(args.report, {"stats": stats, "removed": screen.removed})
    if args.metrics:
        write_metrics_atomic(args.metrics, stats)
    stage.log.info("decontaminate: kept %d, removed %d; by benchmark %s, by page source %s",
                   stats["kept"], stats["removed"], stats["removed_by_benchmark"], stats["removed_by_page_source"])


def _valid_pages(corpus: str, skipped: Counter[str]) -> Iterator[dict]:
    """Pages with `url` and `text` (others counted); no page at all is an error, raised before
    the output replaces anything (the atomic write is abandoned)."""
    n = 0
    for page in read_jsonl(corpus, skipped):
        if isinstance(page.get("text"), str) and isinstance(page.get("url"), str):
            n += 1
            yield page
        else:
            skipped["page_without_url_or_text"] += 1
    if not n:
        raise ValueError(f"{corpus}: no pages with `url` and `text`")


def _config(args: argparse.Namespace) -> DecontaminateConfig:
    overrides = {k: v for k, v in (("ngram", args.ngram), ("min_ngram", args.min_ngram)) if v is not None}
    if args.params:
        if overrides or args.rule:
            raise ValueError("--rule/--ngram/--min-ngram: not with --params (set the `decontaminate` section)")
        return load_params(args.params).decontaminate
    if args.rule == "paper":
        return DecontaminateConfig.paper(**overrides)
    return DecontaminateConfig(**overrides)


if __name__ == "__main__":
    stage.run(main)
