"""Stage `dedup`: exact URL dedup, then MinHash near-dedup (datasketch)."""

from __future__ import annotations

from collections import Counter

from data_selection.dedup import dedup
from data_selection.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pages", required=True, help="input: pool pages (JSONL)")
    p.add_argument("--out", required=True, help="output: deduplicated pages (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts and drop reasons (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    skipped: Counter[str] = Counter()
    pages = list(read_jsonl(args.pages, skipped))
    if not pages:
        raise ValueError(f"{args.pages}: no pages to deduplicate")
    kept, metrics = dedup(pages, params.dedup, params.seed)
    metrics["malformed_lines"] = dict(skipped)
    write_jsonl_atomic(args.out, kept)
    write_json_atomic(args.metrics, metrics)
    stage.log.info("dedup: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
