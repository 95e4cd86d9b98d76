"""Stage `world`: the seeded synthetic web, its seed corpus, and the synthetic problem splits."""

from __future__ import annotations

from inputs.jsonl import write_jsonl_atomic, write_metrics_atomic
from data_selection.synthetic_web import generate_web
from evaluation.synthetic_problems import make_splits
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--web", required=True, help="output: pool pages (JSONL)")
    p.add_argument("--seed-pages", required=True, help="output: seed corpus, the OpenWebMath analogue (JSONL)")
    p.add_argument("--train", required=True, help="output: training problems (JSONL, GSM8K layout)")
    p.add_argument("--test", required=True, help="output: test problems (JSONL, GSM8K layout)")
    p.add_argument("--metrics", required=True, help="output: counts (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params, uses_torch=False)
    cfg = params.world
    train, test = make_splits(cfg.problems, params.seed)
    planted = [(t["id"], t["question"]) for t in test]
    pages, seed_pages = generate_web(cfg.web, params.seed, planted)
    write_jsonl_atomic(args.train, train)
    write_jsonl_atomic(args.test, test)
    write_jsonl_atomic(args.web, pages)
    write_jsonl_atomic(args.seed_pages, seed_pages)
    metrics = {
        "pages": len(pages),
        "math_pages": sum(p["is_math"] for p in pages),
        "planted_pages": sum(p["benchmark_id"] is not None for p in pages),
        "seed_pages": len(seed_pages),
        "train_problems": len(train),
        "test_problems": len(test),
    }
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("world: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
