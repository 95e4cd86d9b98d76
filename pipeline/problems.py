"""Stage `problems@<role>`: the SFT examples (`sft`) or RL questions (`rl`) in the one normalised
layout, from the synthetic world or from GSM8K train + MATH train (`data.<role>` in params).

Real problems are mixed by weight (`inputs.mixture`) and decontaminated against the benchmarks
with the corpus's rule (paper §2.1 applies it to the pretraining corpus; training problems that
repeat a test item would leak it the same way). Metrics count records per source and per reason.
"""

from __future__ import annotations

from collections import Counter

from tqdm import tqdm

from data_selection.benchmark_items import read_benchmarks
from data_selection.decontaminate import decontaminate, problem_pages
from inputs.jsonl import write_jsonl_atomic, write_metrics_atomic
from inputs.mixture import mix
from inputs.problems import read_problems, skip_counts
from pipeline import stage

ROLES = ("sft", "rl")


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--role", required=True, choices=ROLES, help="which problem set: data.sft or data.rl")
    p.add_argument("--synthetic", required=True, help="input: the world's training problems (JSONL)")
    p.add_argument("--gsm8k", required=True, help="input: GSM8K train (JSONL), read when the source is real")
    p.add_argument("--math", required=True, help="input: MATH train (JSONL), read when the source is real")
    p.add_argument("--benchmark", action="append", default=[], help="input: benchmark to decontaminate against (repeatable)")
    p.add_argument("--out", required=True, help="output: normalised problems (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts per source and reason (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params, uses_torch=False)
    cfg = getattr(params.data, args.role)
    counts: dict[str, Counter[str]] = {}
    if cfg.source == "synthetic":
        counts["synthetic"] = Counter()
        problems = read_problems(str(stage.require_file(args.synthetic)), "synthetic", counts["synthetic"])
        metrics: dict = {"source": "synthetic"}
    else:
        sets = {}
        for name, path in (("gsm8k", args.gsm8k), ("math", args.math)):
            counts[name] = Counter()
            sets[name] = read_train_file(name, path, counts[name])
        shares = cfg.mixture.shares()
        seed = params.seed * 1_000_003 + ROLES.index(args.role)
        mixed, drawn = mix(sets, shares, cfg.max_problems, seed)
        problems, removed = _decontaminate(mixed, args.benchmark, params)
        metrics = {"source": "real", "drawn": drawn, "decontamination": removed}
    by_source = Counter(p["source"] for p in problems)
    metrics |= {"problems": len(problems), "by_source": dict(sorted(by_source.items())),
                "read": {name: {k: v for k, v in sorted(c.items()) if not k.startswith("skipped_")} for name, c in counts.items()},
                "skipped": {name: skip_counts(c) for name, c in counts.items()}}
    if not problems:
        raise ValueError(f"data.{args.role}: no problems left ({metrics})")
    write_jsonl_atomic(args.out, problems)
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("problems@%s: %s", args.role, metrics)


def read_train_file(name: str, path: str, counts: Counter[str]) -> list[dict]:
    """A real training file (`data.train_files.<name>`) normalised; errors name the param and path."""
    try:
        return read_problems(path, name, counts)
    except FileNotFoundError:
        raise FileNotFoundError(f"data.train_files.{name}: file not found: {path}") from None
    except ValueError as err:
        raise ValueError(f"data.train_files.{name}: {path}: {err}") from None


def _decontaminate(problems: list[dict], benchmarks: list[str], params) -> tuple[list[dict], dict]:
    """Problems whose question + solution share no benchmark n-gram (paper §2.1's rule), and counts."""
    if not benchmarks:
        raise ValueError("--benchmark: real training problems must be decontaminated against the benchmarks")
    items, _ = read_benchmarks([str(stage.require_file(path)) for path in benchmarks])
    pages = tqdm(problem_pages(problems), total=len(problems), desc="problems: decontaminate", unit="problem",
                 mininterval=2)
    kept, _, stats = decontaminate(pages, items, params.decontaminate)
    keep = {page["url"] for page in kept}
    return [p for p in problems if p["id"] in keep], stats


if __name__ == "__main__":
    stage.run(main)
