"""Evaluate one model on several benchmarks: a greedy pass for top-1, then a sampled pass for
pass@k / maj@k, graded by the shared grader, with breakdowns by MATH level and subject.

Follows the paper's protocol (greedy top-1; Fig. 7 samples at temperature 0.7) at a smaller
sample count and token budget. Metrics are deterministic given the seed; generation speed goes
in a separate `timing` dict because wall-clock numbers are not reproducible. Headline metrics
are lenient (any extracted answer); `top1_strict` and `sample_acc_strict` count only answers in
an explicit format (#### N, \\boxed{}, "The answer is"), so learning the format is visible apart
from learning the math.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from evaluation.config import BenchmarkConfig, EvaluateConfig
from evaluation.generation import Backend
from evaluation.grader import Grade, grade_many, grading_stats
from evaluation.metrics import ProblemOutcome, summarize
from evaluation.prompts import build_prompt
from evaluation.voting import vote_keys_many


@dataclass(frozen=True)
class Prompting:
    """What prompt styles need from the model: the format it was trained with (for `model`) and
    its tokenizer (for `chat`); both None for few-shot and plain styles."""

    model_format: str | None = None
    tokenizer: Any = None


def select_problems(problems: list[dict], n_problems: int) -> list[dict]:
    """The first `n_problems` problems (all when 0); too few problems is an error, not a shrug."""
    if n_problems == 0:
        return list(problems)
    if len(problems) < n_problems:
        raise ValueError(
            f"n_problems: {n_problems} requested but only {len(problems)} problems given"
        )
    return list(problems[:n_problems])


def _timed(
    backend: Backend, prompts: list[str], seed: int, **kwargs: Any
) -> tuple[list[list[str]], float, float]:
    t0 = time.perf_counter()
    out = backend.generate(prompts, seed=seed, **kwargs)
    return out, time.perf_counter() - t0, backend.last_tokens_per_s


def _records(
    name: str, item: dict, mode: str, completions: list[str], grades: list[Grade]
) -> list[dict[str, Any]]:
    return [
        {"benchmark": name, "id": item["id"], "mode": mode, "index": i, "completion": c,
         "extracted": g.extracted, "method": g.method, "gold": item["answer"],
         "correct": g.correct, "strict": g.strict, "error": g.error}
        for i, (c, g) in enumerate(zip(completions, grades, strict=True))
    ]


def _breakdown(
    items: list[dict], outcomes: list[ProblemOutcome], field: str, cfg: EvaluateConfig, seed: int
) -> dict[str, dict]:
    groups: dict[str, list[ProblemOutcome]] = defaultdict(list)
    for item, outcome in zip(items, outcomes, strict=True):
        if item.get(field) is not None:
            groups[str(item[field])].append(outcome)
    n = len(outcomes[0].sample_correct)
    keep = ("n_problems", "top1", "pass@1", f"pass@{n}", f"maj@{n}")
    return {
        group: {k: v for k, v in summarize(members, maj_subsets=cfg.maj_subsets, seed=seed).items() if k in keep}
        for group, members in sorted(groups.items())
    }


def evaluate_benchmark(
    backend: Backend, items: list[dict], bench: BenchmarkConfig, cfg: EvaluateConfig, seed: int,
    prompting: Prompting | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]:
    """(metrics, per-sample records, timing) of one benchmark of normalised records."""
    chosen = select_problems(items, bench.n_problems)
    if not chosen:
        raise ValueError(f"benchmark {bench.name}: empty; nothing to evaluate")
    prompting = prompting or Prompting()
    prompts = [build_prompt(bench.prompt, item["question"], model_format=prompting.model_format,
                            tokenizer=prompting.tokenizer) for item in chosen]
    greedy, greedy_s, greedy_tps = _timed(
        backend, prompts, seed, n=1, temperature=0.0, top_p=1.0,
        max_new_tokens=bench.greedy_max_new_tokens,
    )
    # A different seed for the sampled pass, so it does not replay the greedy pass's stream.
    sampled, sample_s, sample_tps = _timed(
        backend, prompts, seed + 1, n=bench.n_samples, temperature=cfg.temperature,
        top_p=cfg.top_p, max_new_tokens=bench.max_new_tokens,
    )
    t0 = time.perf_counter()
    flat = [c for per in greedy for c in per] + [c for per in sampled for c in per]
    golds = [i["answer"] for i in chosen] + [i["answer"] for i in chosen for _ in range(bench.n_samples)]
    before = grading_stats()
    grades = grade_many(flat, golds, workers=cfg.grading_workers, timeout=cfg.grading_timeout)
    retried = grading_stats() - before  # machine-dependent (a loaded machine times out more): timing, not metrics
    g_grades, s_grades = grades[: len(chosen)], grades[len(chosen) :]
    per_sample = [s_grades[i * bench.n_samples : (i + 1) * bench.n_samples] for i in range(len(chosen))]
    keys = vote_keys_many(
        [([g.extracted for g in gs], [g.correct for g in gs]) for gs in per_sample],
        workers=cfg.grading_workers, timeout=cfg.grading_timeout,
    )
    records: list[dict[str, Any]] = []
    outcomes: list[ProblemOutcome] = []
    for item, g_out, s_out, g_grade, gs, ks in zip(chosen, greedy, sampled, g_grades, per_sample, keys, strict=True):
        records += _records(bench.name, item, "greedy", g_out, [g_grade])
        records += _records(bench.name, item, "sample", s_out, gs)
        outcomes.append(ProblemOutcome(item["id"], g_grade.correct, tuple(ks), tuple(g.correct for g in gs)))
    metrics: dict[str, Any] = summarize(outcomes, maj_subsets=cfg.maj_subsets, seed=seed)
    metrics["top1_strict"] = sum(g.strict for g in g_grades) / len(chosen)
    metrics["sample_acc_strict"] = sum(g.strict for g in s_grades) / len(s_grades)
    metrics["grading_timeouts"] = sum(g.error == "timeout" for g in grades)
    metrics["grading_errors"] = sum(g.error not in (None, "timeout") for g in grades)
    for field in ("level", "subject"):
        if any(item.get(field) is not None for item in chosen):
            metrics[f"by_{field}"] = _breakdown(chosen, outcomes, field, cfg, seed)
    timing = {"greedy_seconds": greedy_s, "greedy_tokens_per_s": greedy_tps,
              "sample_seconds": sample_s, "sample_tokens_per_s": sample_tps,
              "grading_seconds": time.perf_counter() - t0, "grading_retries": retried.retries,
              "grading_retry_successes": retried.retry_successes}
    return metrics, records, timing


def evaluate(
    backend: Backend, benchmarks: dict[str, list[dict]], cfg: EvaluateConfig, seed: int,
    prompting: Prompting | None = None,
) -> tuple[dict[str, dict], list[dict[str, Any]], dict[str, dict]]:
    """Evaluate every benchmark of `cfg.benchmarks` on the normalised records in `benchmarks`.

    Returns ({benchmark: metrics}, all per-sample records, {benchmark: timing}). Benchmark i
    uses seeds seed + 2i (greedy) and seed + 2i + 1 (samples), so benchmarks do not share
    random streams and adding one does not change the others' results.
    """
    metrics: dict[str, dict] = {}
    timing: dict[str, dict] = {}
    records: list[dict[str, Any]] = []
    for index, bench in enumerate(cfg.benchmarks):
        if bench.name not in benchmarks:
            raise ValueError(f"benchmarks: no data given for benchmark {bench.name!r}")
        before = getattr(backend, "truncated_prompts", 0)
        m, r, t = evaluate_benchmark(backend, benchmarks[bench.name], bench, cfg, seed + 2 * index, prompting)
        m["truncated_prompts"] = getattr(backend, "truncated_prompts", 0) - before
        metrics[bench.name], timing[bench.name] = m, t
        records += r
    return metrics, records, timing
