"""Stage `evaluate@<model>`: greedy top-1, then sampled pass@k and maj@k on the test problems."""

from __future__ import annotations

from collections import Counter

from data_selection.jsonl import write_json_atomic, write_jsonl_atomic
from evaluation.evaluate import evaluate
from evaluation.generation import make_backend
from evaluation.report import curves_rows
from pipeline import stage
from pipeline.train_common import read_problems


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--model", required=True, help="input: model directory (with its tokenizer)")
    p.add_argument("--test", required=True, help="input: test problems (JSONL, GSM8K layout)")
    p.add_argument("--samples", required=True, help="output: every graded completion (JSONL)")
    p.add_argument("--metrics", required=True, help="output: top1, pass@k, maj@k (JSON)")
    p.add_argument("--timing", required=True, help="output: generation speed (JSON, not a DVC metric)")
    p.add_argument("--curves", required=True, help="output: pass@k and maj@k against k (JSON, a DVC plot)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    cfg = params.evaluate
    skipped: Counter[str] = Counter()
    problems = read_problems(args.test, skipped)
    backend = make_backend(cfg.backend, str(stage.require_file(args.model)), cfg.batch_size, cfg.dtype, params.seed)
    metrics, records, timing = evaluate(backend, problems, cfg, params.seed)
    metrics = {**metrics, "malformed_lines": sum(skipped.values())}
    write_jsonl_atomic(args.samples, records)
    write_json_atomic(args.metrics, metrics)
    write_json_atomic(args.timing, timing)
    curves = [{k: v for k, v in row.items() if k != "model"} for row in curves_rows({"model": metrics})]
    write_json_atomic(args.curves, curves)
    stage.log.info("evaluate %s: %s", args.model, {k: round(v, 4) for k, v in metrics.items()})


if __name__ == "__main__":
    stage.run(main)
