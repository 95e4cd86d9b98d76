"""The project's one answer scorer, shared by evaluation and the RL rule reward.

`grade_many(preds, golds)` extracts each prediction's final answer (`evaluation.extract`) and
decides equivalence with the gold answer in two tiers:
  1. a fast path in this process, exact and conservative: identical strings, or two plain
     rationals (integers, decimals, thousands separators, p/q, \\frac{p}{q}, %, $) compared with
     `fractions.Fraction`; it only answers when math-verify would answer the same;
  2. otherwise math-verify (LaTeX expressions, intervals, sets, matrices, equations) in worker
     processes with a hard per-item timeout (`evaluation.grading_pool`); a timeout grades as
     wrong and is reported in `Grade.error`.
`is_correct(completion, gold)` is what `rl.rewards` calls; evaluation calls `grade_many`, so the
metric and the reward cannot drift apart (GUIDE principle 5). Model output is never executed:
no eval, exec, sympify or parse_expr here; only math-verify's parser sees it, in a worker.

Departure from the paper: DeepSeek-Math's evaluation uses its own normaliser and SymPy
comparison; we use math-verify, whose verdicts differ from it on a few percent of MATH answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.extract import MAX_CHARS, Extraction, extract, extract_answer
from evaluation.grading_pool import shared_pool
from evaluation.numbers import canonical, normalize_number, number_value
from evaluation.verify_worker import GOLD_UNPARSEABLE

__all__ = [
    "MAX_CHARS", "Grade", "equivalent_many", "extract", "extract_answer", "fast_equivalent",
    "grade", "grade_many", "is_correct", "normalize_number", "vote_key",
]

DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT = 5.0  # seconds per item, hard (the worker is killed)
# Unequal non-integers closer than this (relative) go to math-verify, whose float rounding
# (6 decimals) may call them equal; farther apart they are different answers for sure.
_CLOSE = 1e-4


@dataclass(frozen=True)
class Grade:
    """Verdict on one prediction. `correct` is lenient; `strict` also needs an answer format."""

    correct: bool
    strict: bool
    extracted: str | None
    method: str  # extraction rule (see evaluation.extract)
    error: str | None = None  # "timeout", "worker_died", "gold_unparseable", "gold_empty", ...


def _squash(s: str) -> str:
    return "".join(s.split()).strip("$").rstrip(".")


def fast_equivalent(pred: str, gold: str) -> bool | None:
    """True/False when decidable without math-verify, else None."""
    if _squash(pred) == _squash(gold):
        return True
    p, g = number_value(pred), number_value(gold)
    if p is None or g is None:
        return None
    (pv, p_pct), (gv, g_pct) = p, g
    if pv == gv:
        return True
    # "50%" answers both "50" and "0.5" (and "0.5" answers "50%").
    if (p_pct and not g_pct and pv / 100 == gv) or (g_pct and not p_pct and gv / 100 == pv):
        return True
    if pv.denominator == 1 and gv.denominator == 1:
        return False
    return False if abs(pv - gv) > _CLOSE * max(1, abs(gv)) else None


def vote_key(answer: str | None) -> str | None:
    """Cheap grouping key for majority voting: canonical number, else whitespace-free string."""
    if answer is None:
        return None
    parsed = number_value(answer)
    return canonical(parsed[0]) if parsed is not None else _squash(answer)


def equivalent_many(
    pairs: list[tuple[str, str]], *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT
) -> list[tuple[bool, str | None]]:
    """(equivalent, error) for (pred, gold) answer pairs: fast path, then the worker pool."""
    results: list[tuple[bool, str | None]] = []
    slow: list[int] = []
    for index, (pred, gold) in enumerate(pairs):
        decided = fast_equivalent(pred, gold)
        results.append((bool(decided), None))
        if decided is None:
            slow.append(index)
    if slow:
        verdicts = shared_pool(workers, timeout).map([pairs[i] for i in slow])
        for index, verdict in zip(slow, verdicts, strict=True):
            results[index] = verdict
    return results


def grade_many(
    preds: list[str], golds: list[str], *, workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Grade]:
    """Grade every prediction (a completion or a bare answer) against its gold answer, in order."""
    if len(preds) != len(golds):
        raise ValueError(f"golds: {len(golds)} gold answers for {len(preds)} predictions")
    extractions: list[Extraction] = [extract(p) for p in preds]
    pairs: list[tuple[str, str]] = []
    where: list[int] = []
    for index, (ex, gold) in enumerate(zip(extractions, golds, strict=True)):
        if ex.answer is not None and gold.strip():
            pairs.append((ex.answer, gold.strip()))
            where.append(index)
    verdicts: list[tuple[bool, str | None]] = [(False, None)] * len(preds)
    for index, verdict in zip(where, equivalent_many(pairs, workers=workers, timeout=timeout)):
        verdicts[index] = verdict
    grades = []
    for ex, gold, (ok, error) in zip(extractions, golds, verdicts, strict=True):
        error = "gold_empty" if not gold.strip() else error
        grades.append(Grade(ok, ok and ex.strict, ex.answer, ex.method, error))
    return grades


def grade(pred: str, gold: str, **kwargs: float) -> Grade:
    """`grade_many` for one item."""
    return grade_many([pred], [gold], **kwargs)[0]  # type: ignore[arg-type]


def is_correct(completion: str, gold: str) -> bool:
    """True iff the answer extracted from `completion` is equivalent to `gold` (lenient).

    Raises ValueError for a gold answer that is empty or that math-verify cannot parse: a
    malformed gold answer is a data bug that must surface, not a silent zero reward.
    """
    result = grade(completion, gold)
    if result.error in ("gold_empty", GOLD_UNPARSEABLE):
        raise ValueError(f"gold: cannot be graded ({result.error}): {gold!r}")
    return result.correct
