"""Pass@k and maj@k from n samples per problem, and their aggregation into flat metrics.

pass@k is the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k), in its
numerically stable product form. maj@k departs from the DeepSeek-Math reference code, which
votes on the first k samples only: we average the majority vote's correctness over k-subsets of
the n samples (all of them when there are few, else a seeded random sample), which estimates the
same quantity with lower variance (PAPER_FACTS "Evaluation conventions").

All values are fractions in [0, 1]; reports turn them into percentages.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Sequence

from evaluation.grader import normalize_number


@dataclass(frozen=True)
class ProblemOutcome:
    """Graded outputs of one problem: one greedy completion and n sampled ones."""

    id: str  # problem id
    greedy_correct: bool  # was the greedy (temperature 0) completion right
    sample_answers: tuple[str | None, ...]  # extracted answer of each sample (None: none found)
    sample_correct: tuple[bool, ...]  # is_correct of each sample, same order

    def __post_init__(self) -> None:
        if len(self.sample_answers) != len(self.sample_correct):
            raise ValueError(
                f"sample_correct: length {len(self.sample_correct)} != "
                f"{len(self.sample_answers)} sample_answers"
            )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: chance that a random k-subset of n samples (c right) has a right one."""
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"k: need n >= 1, 0 <= c <= n, 1 <= k <= n; got n={n} c={c} k={k}")
    if n - c < k:
        # Every k-subset contains a correct sample.
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i): no huge binomials, no overflow.
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _vote_key(answer: str | None) -> str | None:
    """Group equivalent answers ("1,000" and "1000", "6" and "6.0"); None never votes."""
    if answer is None:
        return None
    normalized = normalize_number(answer)
    return normalized if normalized is not None else answer.strip()


def _majority_correct(
    keys: Sequence[str | None], correct: Sequence[bool], subset: Iterable[int]
) -> bool:
    """Correctness of the majority answer among `subset` (indices in increasing order).

    Ties go to the tied answer whose first occurrence has the lowest sample index; a subset
    whose samples all lack an answer counts as wrong.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i in subset:
        key = keys[i]
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    if not counts:
        return False
    # Dicts keep insertion order = order of first occurrence, so max() keeps the earliest on ties.
    winner = max(counts, key=lambda key: counts[key])
    return bool(correct[first[winner]])


def maj_at_k(
    answers: Sequence[str | None],
    correct: Sequence[bool],
    k: int,
    n_subsets: int,
    rng: random.Random,
) -> float:
    """Expected correctness of the majority vote over k-subsets of the n samples.

    Uses every k-subset when there are at most `n_subsets` of them (exact), otherwise
    `n_subsets` random k-subsets drawn from `rng` (so the result is deterministic given its seed).
    """
    n = len(answers)
    if len(correct) != n:
        raise ValueError(f"correct: length {len(correct)} != {n} answers")
    if not 1 <= k <= n:
        raise ValueError(f"k: must be in [1, {n}], got {k}")
    if n_subsets < 1:
        raise ValueError(f"n_subsets: must be >= 1, got {n_subsets}")
    keys = [_vote_key(a) for a in answers]
    if math.comb(n, k) <= n_subsets:
        subsets: Iterable[Sequence[int]] = combinations(range(n), k)
    else:
        subsets = (sorted(rng.sample(range(n), k)) for _ in range(n_subsets))
    wins = total = 0
    for subset in subsets:
        wins += _majority_correct(keys, correct, subset)
        total += 1
    return wins / total


def ks_for(n: int) -> list[int]:
    """1, 2, 4, ... up to n, plus n itself when it is not a power of two."""
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    ks = [1 << e for e in range(n.bit_length()) if (1 << e) <= n]
    if ks[-1] != n:
        ks.append(n)
    return ks


def summarize(
    per_problem: Sequence[ProblemOutcome], *, maj_subsets: int = 200, seed: int = 0
) -> dict[str, float | int]:
    """Flat metrics: top1, pass@k and maj@k for k in ks_for(n), sample_acc, n_problems, n_samples.

    Every problem must have the same number n of samples. One `random.Random(seed)` is used for
    the maj@k subsets, in problem order, so the result is deterministic.
    """
    if not per_problem:
        raise ValueError("per_problem: empty; nothing to summarize")
    n = len(per_problem[0].sample_correct)
    if n < 1 or any(len(p.sample_correct) != n for p in per_problem):
        raise ValueError(
            f"per_problem: every problem needs the same n >= 1 samples (first has {n})"
        )
    rng = random.Random(seed)
    ks = ks_for(n)
    count = len(per_problem)
    metrics: dict[str, float | int] = {
        "n_problems": count,
        "n_samples": n,
        "top1": sum(p.greedy_correct for p in per_problem) / count,
    }
    for k in ks:
        total = sum(pass_at_k(n, sum(p.sample_correct), k) for p in per_problem)
        metrics[f"pass@{k}"] = total / count
    for k in ks:
        total = sum(
            maj_at_k(p.sample_answers, p.sample_correct, k, maj_subsets, rng) for p in per_problem
        )
        metrics[f"maj@{k}"] = total / count
    metrics["sample_acc"] = sum(sum(p.sample_correct) / n for p in per_problem) / count
    return metrics
