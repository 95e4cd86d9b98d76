"""Stage `benchmarks@<name>`: a benchmark file (GSM8K or MATH layout, or hf:NAME[:CONFIG]@SPLIT)
normalised to {id, question, gold, solution, level, subject} JSONL, with its counts."""

from __future__ import annotations

from collections import Counter

from data_selection.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from evaluation.benchmarks import load_hub, normalize_all
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--name", required=True, help="benchmark name (used in ids and messages)")
    p.add_argument("--source", required=True, help="input: local JSONL, or hf:NAME[:CONFIG]@SPLIT (online)")
    p.add_argument("--out", required=True, help="output: normalised benchmark (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts (JSON)")
    args = p.parse_args(argv)
    stage.setup(args.params)
    skipped: Counter[str] = Counter()
    if args.source.startswith("hf:"):
        records = load_hub(args.source)
    else:
        records = list(read_jsonl(stage.require_file(args.source), skipped))
    items, counts = normalize_all(records, args.name)
    write_jsonl_atomic(args.out, items)
    write_json_atomic(args.metrics, {**counts, "malformed_lines": sum(skipped.values())})
    stage.log.info("benchmark %s: %s", args.name, dict(counts))


if __name__ == "__main__":
    stage.run(main)
