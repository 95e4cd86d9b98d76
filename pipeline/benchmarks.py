"""Stage `benchmarks@<name>`: a benchmark (local JSONL in GSM8K or MATH layout, or
hf:NAME[:CONFIG]@SPLIT when online) normalised by `inputs.problems`, with its counts."""

from __future__ import annotations

from collections import Counter

from inputs.jsonl import write_jsonl_atomic, write_metrics_atomic
from inputs.problems import read_problems, skip_counts
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--name", required=True, help="benchmark name (the records' `source`, ids and messages)")
    p.add_argument("--source", required=True, help="input: local JSONL, or hf:NAME[:CONFIG]@SPLIT (online)")
    p.add_argument("--out", required=True, help="output: normalised benchmark (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts (JSON)")
    args = p.parse_args(argv)
    stage.setup(args.params, uses_torch=False)
    counts: Counter[str] = Counter()
    items = read_problems(args.source, args.name, counts)
    write_jsonl_atomic(args.out, items)
    metrics = {"items": len(items), **{k: v for k, v in sorted(counts.items()) if not k.startswith("skipped_")},
               "skipped": skip_counts(counts)}
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("benchmark %s: %s", args.name, metrics)


if __name__ == "__main__":
    stage.run(main)
