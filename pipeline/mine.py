"""Stage `mine`: iterative rounds of fastText scoring, top-N cut and domain discovery (§2.1)."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from data_selection.dedup import valid_page
from data_selection.discovery import load_annotation
from data_selection.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from data_selection.mine import collected_pages, mine_rounds
from data_selection.mine_report import plot_rounds, summary
from data_selection.shards import plan_shards
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pool", required=True, help="input: deduplicated pool pages (JSONL)")
    p.add_argument("--seed-pages", required=True, help="input: seed corpus (JSONL)")
    p.add_argument("--annotation", required=True, help="input: accepted math paths (YAML; `accepted: auto` for the rule)")
    p.add_argument("--out", required=True, help="output: last round's collection with scores (JSONL)")
    p.add_argument("--metrics", required=True, help="output: per-round counts, recall, precision (JSON)")
    p.add_argument("--rounds", required=True, help="output: one row per round, for `dvc plots` (JSON)")
    p.add_argument("--proposals", required=True, help="output: proposed paths per round with ratio and decision (JSON)")
    p.add_argument("--plot", required=True, help="output: recall and precision by round (PNG)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    annotation = load_annotation(stage.require_file(args.annotation))
    skipped: Counter[str] = Counter()
    seed_texts = [s["text"] for s in read_jsonl(args.seed_pages, skipped) if valid_page(s)]
    shards = plan_shards(stage.require_file(args.pool), params.executor.shard_bytes)
    with tempfile.TemporaryDirectory() as workdir:
        result = mine_rounds(shards, seed_texts, params.mine, params.seed, params.executor,
                             Path(workdir), annotation)
    write_jsonl_atomic(args.out, collected_pages(shards, result))
    metrics = summary(result.rounds)
    metrics["annotation"] = "auto" if annotation is None else f"{len(annotation)} paths"
    metrics["malformed"] = dict(skipped + result.meta.skipped)
    write_json_atomic(args.metrics, metrics)
    write_json_atomic(args.rounds, result.rounds)
    write_json_atomic(args.proposals, result.proposals)
    plot_rounds(result.rounds, args.plot)
    stage.log.info("mine: %s", {k: v for k, v in metrics.items() if k != "by_round"})


if __name__ == "__main__":
    stage.run(main)
