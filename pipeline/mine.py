"""Stage `mine`: iterative rounds of fastText scoring, top-N cut and domain discovery (§2.1).

Every pass runs on the configured executor and exchanges files in a work directory created next
to the output (on a Ray cluster that must be storage every node sees, like the input).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from inputs.jsonl import JsonlTexts, count_by, write_json_atomic, write_metrics_atomic
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
    p.add_argument("--rss-report", help="optional output: peak RSS of the stage process and of its "
                                        "shard workers in MiB (JSON; not in the metrics, which must not vary)")
    args = p.parse_args(argv)
    # Imported after parsing: polars, fastText and datasketch take most of a second `--help` need not.
    from data_selection.discovery import load_annotation
    from data_selection.executors import PeakRss, peak_rss_mb
    from data_selection.mine import mine_rounds, write_collected
    from data_selection.mine_report import plot_rounds, summary
    from data_selection.shards import plan_shards

    params = stage.setup(args.params, uses_torch=False)
    annotation = load_annotation(stage.require_file(args.annotation))
    skipped: Counter[str] = Counter()
    seed_texts = JsonlTexts(stage.require_file(args.seed_pages), skipped)  # read by index, not held
    shards = plan_shards(stage.require_file(args.pool), params.executor.shard_bytes)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    peak = PeakRss()
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as workdir:
        result = mine_rounds(shards, seed_texts, params.mine, params.seed, params.executor,
                             Path(workdir), annotation, peak)
        write_collected(result, out, params.executor, peak)
    metrics = summary(result.rounds)
    metrics["annotation"] = "auto" if annotation is None else f"{len(annotation)} paths"
    metrics["malformed"] = dict(skipped + result.pool.skipped)
    metrics["collected_by_source"] = count_by(out, "source", missing="synthetic")
    write_metrics_atomic(args.metrics, metrics)
    write_json_atomic(args.rounds, result.rounds.to_dicts())
    write_json_atomic(args.proposals, result.proposals.to_dicts())
    plot_rounds(result.rounds, args.plot)
    if args.rss_report:
        write_json_atomic(args.rss_report, {"driver_mb": round(peak_rss_mb(), 1),
                                            "worker_mb": round(peak.worker_mb, 1)})
    stage.log.info("mine: %s", {k: v for k, v in metrics.items() if k != "by_round"})


if __name__ == "__main__":
    stage.run(main)
