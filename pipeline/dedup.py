"""Stage `dedup`: exact URL dedup, then MinHash near-dedup (datasketch's MinHash, sharded)."""

from __future__ import annotations

from data_selection.dedup import decide, dedup_stats, kept_records, signature_shard
from data_selection.executors import run_shards
from data_selection.jsonl import write_json_atomic, write_jsonl_atomic
from data_selection.shards import plan_shards
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pages", required=True, help="input: pool pages with `url` and `text` (JSONL)")
    p.add_argument("--out", required=True, help="output: deduplicated pages (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts, drop reasons, ground-truth checks (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    shards = plan_shards(stage.require_file(args.pages), params.executor.shard_bytes)
    batches = run_shards(signature_shard, shards, (params.dedup, params.seed), params.executor)
    if not any(b.n_records for b in batches):
        raise ValueError(f"{args.pages}: no pages to deduplicate")
    decisions = decide(batches, params.dedup)
    write_jsonl_atomic(args.out, kept_records(shards, decisions))
    metrics = dedup_stats(batches, decisions, params.dedup)
    write_json_atomic(args.metrics, metrics)
    stage.log.info("dedup: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
