"""Stage `dedup`: exact URL dedup, then MinHash near-dedup (datasketch's MinHash, sharded).

Every pass runs on the configured executor and exchanges files in a work directory created next
to the output (on a Ray cluster that must be storage every node sees, like the input).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from inputs.jsonl import count_by, write_json_atomic, write_metrics_atomic
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pages", required=True, help="input: pool pages with `url` and `text` (JSONL)")
    p.add_argument("--out", required=True, help="output: deduplicated pages (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts, drop reasons, ground-truth checks (JSON)")
    p.add_argument("--rss-report", help="optional output: peak RSS of the stage process and of its "
                                        "shard workers in MiB (JSON; not in the metrics, which must not vary)")
    args = p.parse_args(argv)
    # Imported after parsing: datasketch (with scipy) and numpy take most of a second `--help` need not.
    from data_selection.dedup import compute_signatures, decide_and_write
    from data_selection.executors import PeakRss, peak_rss_mb
    from data_selection.shards import plan_shards

    params = stage.setup(args.params, uses_torch=False)
    shards = plan_shards(stage.require_file(args.pages), params.executor.shard_bytes)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    peak = PeakRss()
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as workdir:
        signed = compute_signatures(shards, params.dedup, params.seed, params.executor, workdir, peak)
        if not signed.n_records:
            raise ValueError(f"{args.pages}: no pages to deduplicate")
        metrics = decide_and_write(signed, shards, params.dedup, params.executor, out, peak)
    metrics["kept_by_source"] = count_by(out, "source", missing="synthetic")
    write_metrics_atomic(args.metrics, metrics)
    if args.rss_report:
        write_json_atomic(args.rss_report, {"driver_mb": round(peak_rss_mb(), 1),
                                            "worker_mb": round(peak.worker_mb, 1)})
    stage.log.info("dedup: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
