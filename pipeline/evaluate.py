"""Stage `evaluate@<model>`: on every benchmark of `evaluate.benchmarks`, greedy top-1, then
sampled pass@k and maj@k, graded by the shared grader.

Two metrics files: `--metrics` holds every figure (breakdowns by level and subject, strict
top-1, counts) for the report, and `--headline` only top-1, maj@K and pass@K at the largest K
and the sample accuracy per benchmark, which dvc.yaml declares as the stage's metric so that
`dvc exp show` stays readable."""

from __future__ import annotations

import os
from collections import Counter

from inputs.jsonl import write_json_atomic, write_jsonl_atomic, write_metrics_atomic
from inputs.problems import read_problems, skip_counts
from pipeline import stage


def headline(model: str, metrics: dict[str, dict]) -> dict[str, dict[str, dict[str, float]]]:
    """{model: {benchmark: {top1, maj@K, pass@K, sample_acc}}} with K the benchmark's sample count.

    The model's name is the top key although the file is the model's own: DVC names a column by
    its key alone when no other metrics file has that key, and by `path:key` otherwise, so these
    columns of `dvc exp show` read `grpo-outcome.gsm8k.top1`, not a 50-character path."""
    out = {}
    for bench, m in metrics.items():
        k = m["n_samples"]
        out[bench] = {"top1": m["top1"], f"maj@{k}": m[f"maj@{k}"], f"pass@{k}": m[f"pass@{k}"],
                      "sample_acc": m["sample_acc"]}
    return {model: out}


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--model", required=True, help="input: model directory (with its tokenizer)")
    p.add_argument("--name", required=True, help="the model's name in the headline metrics (e.g. grpo-outcome)")
    p.add_argument("--benchmark", nargs=2, action="append", required=True, metavar=("NAME", "JSONL"),
                   help="input: a benchmark's name and file (GSM8K, MATH or normalised layout); repeatable; "
                        "those not listed in evaluate.benchmarks are not read")
    p.add_argument("--samples", required=True, help="output: every graded completion (JSONL)")
    p.add_argument("--metrics", required=True, help="output: {benchmark: top1, pass@k, maj@k, ...} (JSON)")
    p.add_argument("--headline", required=True,
                   help="output: {name: {benchmark: top1, maj@K, pass@K, sample_acc}} at the largest K (JSON)")
    p.add_argument("--timing", required=True, help="output: generation speed (JSON, not a DVC metric)")
    p.add_argument("--curves", required=True, help="output: directory of <benchmark>.json pass@k and maj@k vs k (DVC plots)")
    args = p.parse_args(argv)
    # Imported after parsing: torch, transformers and matplotlib take seconds, which `--help` should not.
    from evaluation.evaluate import Prompting, evaluate
    from evaluation.generation import make_backend
    from evaluation.prompts import read_format
    from evaluation.report import curves_rows

    params = stage.setup(args.params)
    cfg = params.evaluate
    paths = dict(args.benchmark)
    data, malformed = {}, {}
    for bench in cfg.benchmarks:
        if bench.name not in paths:
            raise ValueError(f"evaluate.benchmarks: {bench.name!r} has no --benchmark {bench.name} PATH (dvc.yaml)")
        skipped: Counter[str] = Counter()
        data[bench.name] = read_problems(str(stage.require_file(paths[bench.name])), bench.name, skipped)
        malformed[bench.name] = skipped["bad_json"] + skipped["not_object"] + sum(skip_counts(skipped).values())
    model_dir = str(stage.require_file(args.model))
    prompting = Prompting(read_format(model_dir), _chat_tokenizer(model_dir, cfg))
    backend = make_backend(cfg.backend, model_dir, cfg.batch_size, cfg.dtype, params.seed)
    metrics, records, timing = evaluate(backend, data, cfg, params.seed, prompting)
    for name in metrics:
        metrics[name]["malformed_lines"] = malformed[name]
    write_jsonl_atomic(args.samples, records)
    write_metrics_atomic(args.metrics, metrics)
    write_metrics_atomic(args.headline, headline(args.name, metrics))
    write_json_atomic(args.timing, timing)
    os.makedirs(args.curves, exist_ok=True)
    for name in os.listdir(args.curves):  # a benchmark dropped from params leaves no stale curve
        os.remove(os.path.join(args.curves, name))
    for name, flat in metrics.items():
        rows = [{k: v for k, v in row.items() if k != "model"} for row in curves_rows({"model": flat})]
        write_metrics_atomic(os.path.join(args.curves, f"{name}.json"), rows)
    for name, flat in metrics.items():
        stage.log.info("evaluate %s on %s: %s", args.model, name,
                       {k: round(v, 4) for k, v in flat.items() if isinstance(v, (int, float))})


def _chat_tokenizer(model_dir: str, cfg):
    """The model's tokenizer when a benchmark's prompt may need its chat template, else None."""
    if not any(b.prompt in ("chat", "model") for b in cfg.benchmarks):
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


if __name__ == "__main__":
    stage.run(main)
