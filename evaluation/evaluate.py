"""Evaluate one model: a greedy pass for top-1, then a sampled pass for pass@k / maj@k.

Follows the paper's protocol (greedy top-1; Fig. 7 samples at temperature 0.7) at a smaller
sample count and token budget. Metrics are deterministic given the seed; generation speed goes
in a separate `timing` dict because wall-clock numbers are not reproducible.
"""

from __future__ import annotations

import time
from typing import Any

from evaluation.config import EvaluateConfig
from evaluation.generation import Backend
from evaluation.grader import extract_answer, is_correct
from evaluation.metrics import ProblemOutcome, summarize
from evaluation.prompts import gold_answer, synthetic_prompt


def select_problems(problems: list[dict], n_problems: int) -> list[dict]:
    """The first `n_problems` problems (all when 0); too few problems is an error, not a shrug."""
    if n_problems == 0:
        return list(problems)
    if len(problems) < n_problems:
        raise ValueError(
            f"n_problems: {n_problems} requested but only {len(problems)} problems given"
        )
    return list(problems[:n_problems])


def _grade(problem: dict, gold: str, mode: str, completions: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": problem["id"],
            "mode": mode,
            "index": index,
            "completion": completion,
            "extracted": extract_answer(completion),
            "gold": gold,
            "correct": is_correct(completion, gold),
        }
        for index, completion in enumerate(completions)
    ]


def _timed(
    backend: Backend, prompts: list[str], seed: int, **kwargs: Any
) -> tuple[list[list[str]], float, float]:
    t0 = time.perf_counter()
    out = backend.generate(prompts, seed=seed, **kwargs)
    return out, time.perf_counter() - t0, backend.last_tokens_per_s


def evaluate(
    backend: Backend, problems: list[dict], cfg: EvaluateConfig, seed: int
) -> tuple[dict[str, float | int], list[dict[str, Any]], dict[str, float]]:
    """Return (metrics, per-sample records, timing) for `problems` in GSM8K layout.

    Records are {id, mode: "greedy"|"sample", index, completion, extracted, gold, correct}.
    Metrics are those of `metrics.summarize` (fractions in [0, 1]); timing holds seconds and
    new tokens per second of each pass.
    """
    chosen = select_problems(problems, cfg.n_problems)
    if not chosen:
        raise ValueError("problems: empty; nothing to evaluate")
    prompts = [synthetic_prompt(p["question"]) for p in chosen]
    golds = [gold_answer(p["answer"]) for p in chosen]
    greedy, greedy_s, greedy_tps = _timed(
        backend,
        prompts,
        seed,
        n=1,
        temperature=0.0,
        top_p=1.0,
        max_new_tokens=cfg.greedy_max_new_tokens,
    )
    # A different seed for the sampled pass, so it does not replay the greedy pass's stream.
    sampled, sample_s, sample_tps = _timed(
        backend,
        prompts,
        seed + 1,
        n=cfg.n_samples,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        max_new_tokens=cfg.max_new_tokens,
    )
    records: list[dict[str, Any]] = []
    outcomes: list[ProblemOutcome] = []
    for problem, gold, g_out, s_out in zip(chosen, golds, greedy, sampled, strict=True):
        g_rec = _grade(problem, gold, "greedy", g_out)
        s_rec = _grade(problem, gold, "sample", s_out)
        records += g_rec + s_rec
        outcomes.append(
            ProblemOutcome(
                id=problem["id"],
                greedy_correct=g_rec[0]["correct"],
                sample_answers=tuple(r["extracted"] for r in s_rec),
                sample_correct=tuple(r["correct"] for r in s_rec),
            )
        )
    metrics = summarize(outcomes, maj_subsets=cfg.maj_subsets, seed=seed)
    timing = {
        "greedy_seconds": greedy_s,
        "greedy_tokens_per_s": greedy_tps,
        "sample_seconds": sample_s,
        "sample_tokens_per_s": sample_tps,
    }
    return metrics, records, timing
