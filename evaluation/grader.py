"""The project's one answer scorer, shared by evaluation and the RL rule reward.

`grade_many(preds, golds)` grades each prediction in this order:
  0. a prediction identical to the gold (ignoring spaces, "$" and a final ".") is correct, even
     when no answer can be extracted from it ("Monday", "x > 3 \\text{ or } x < -1");
  1. its final answer is extracted (`evaluation.extract`: the last answer marker wins, else a
     bare answer, the last LaTeX span, the last number) and read as written, as its marker's
     alternatives (a list of boxes "2, 3" is also read as its last box, MATH's gold convention),
     and, for a decimal-comma number ("3,5"), with a decimal point (`numbers.decimal_comma`). It
     is correct when ANY reading is equivalent to the gold. Each extra reading is one the text
     supports on its own: the decimal one only exists where a thousands separator cannot
     explain the comma ("1,234" stays 1234), and readings are tried on the prediction only
     (gold answers use decimal points);
  2. each reading goes through a fast path in this process, exact and conservative: identical
     strings, two plain rationals (integers, decimals, thousands separators, p/q,
     \\frac{p}{q}, %, $) compared with `fractions.Fraction`, or two answers that are words
     ("Monday", "\\text{odd}") compared as lower-case words, where math-verify would read a
     word as a product of letters and call anagrams equal ("no" = "on");
  3. otherwise math-verify (LaTeX expressions, intervals, sets, matrices, equations and
     inequalities, relations against intervals both ways) in worker processes with a hard
     per-item timeout (`evaluation.grading_pool`); a timed-out item is retried once on a fresh
     worker with 3x the budget, and a second timeout grades as wrong, reported in `Grade.error`
     and counted (`grading_stats`).
`is_correct(completion, gold)` is what `rl.rewards` calls; evaluation calls `grade_many`, so the
metric and the reward cannot drift apart (GUIDE principle 5). Model output is never executed:
no eval, exec, sympify or parse_expr here; only math-verify's parser sees it, in a worker.

Departure from the paper: DeepSeek-Math's evaluation uses its own normaliser and SymPy
comparison; we use math-verify, whose verdicts differ from it on a few percent of MATH answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluation.extract import MAX_CHARS, Extraction, extract, extract_answer
from evaluation.grading_pool import PoolStats, shared_pool, shared_stats
from evaluation.numbers import canonical, decimal_comma, normalize_number, number_value
from evaluation.verify_worker import GOLD_UNPARSEABLE

__all__ = [
    "MAX_CHARS", "Grade", "PoolStats", "equivalent_many", "extract", "extract_answer", "fast_equivalent",
    "grade", "grade_many", "grading_stats", "is_correct", "normalize_number", "readings", "vote_key",
]

DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT = 5.0  # seconds per item, hard (the worker is killed); one retry gets 3x
# Unequal non-integers closer than this (relative) go to math-verify, whose float rounding
# (6 decimals) may call them equal; farther apart they are different answers for sure.
_CLOSE = 1e-4
# Longer predictions cannot be identical to a gold answer; skips squashing a megabyte.
_IDENTICAL_MAX_CHARS = 1_000
_TEXT_WRAP_RE = re.compile(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}")
_WORDS_RE = re.compile(r"[A-Za-z]{2,}(?:[ '-]+[A-Za-z]+)*")


@dataclass(frozen=True)
class Grade:
    """Verdict on one prediction. `correct` is lenient; `strict` also needs an answer format."""

    correct: bool
    strict: bool
    extracted: str | None
    method: str  # extraction rule (see evaluation.extract), or "identical" (pred == gold, nothing extracted)
    error: str | None = None  # "timeout", "worker_died", "gold_unparseable", "gold_empty", ...


def _squash(s: str) -> str:
    return "".join(s.split()).strip("$").rstrip(".")


def _words(answer: str) -> str | None:
    """The lower-case words of a word answer ("\\text{(Odd)}" -> "odd"), else None."""
    text = _TEXT_WRAP_RE.sub(r"\1", answer.strip().strip("$").rstrip(".")).strip().strip("()").strip()
    return text.lower() if _WORDS_RE.fullmatch(text) else None


def fast_equivalent(pred: str, gold: str) -> bool | None:
    """True/False when decidable without math-verify, else None."""
    if _squash(pred) == _squash(gold):
        return True
    pred_words, gold_words = _words(pred), _words(gold)
    if pred_words is not None and gold_words is not None:
        return pred_words == gold_words
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


def readings(extraction: Extraction) -> tuple[str, ...]:
    """The ways an extracted answer is read: as written, its marker's alternatives (the last box
    of a list of boxes), and "3.5" for each decimal-comma "3,5" among them."""
    assert extraction.answer is not None
    options = (extraction.answer, *extraction.alternatives)
    commas = tuple(alt for option in options if (alt := decimal_comma(option)) is not None)
    return tuple(dict.fromkeys(options + commas))


def grading_stats() -> PoolStats:
    """Timeouts, retries and retry successes of this process's grading pools so far; a run's
    counts are the difference of a snapshot taken before it and one after."""
    return shared_stats()


def equivalent_many(
    pairs: list[tuple[str | tuple[str, ...], str]], *, workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[tuple[bool, str | None]]:
    """(equivalent, error) for (pred, gold) answer pairs: fast path, then the worker pool.

    `pred` may be a tuple of readings of one answer: equivalent when any reading is. Readings
    the fast path decides are settled here; the worker sees only the undecided ones.
    """
    results: list[tuple[bool, str | None]] = []
    slow: list[tuple[int, tuple[str, ...]]] = []
    for index, (pred, gold) in enumerate(pairs):
        options = (pred,) if isinstance(pred, str) else tuple(pred)
        decided = [fast_equivalent(option, gold) for option in options]
        results.append((any(decided), None))
        undecided = tuple(o for o, d in zip(options, decided, strict=True) if d is None)
        if not any(decided) and undecided:
            slow.append((index, undecided))
    if slow:
        verdicts = shared_pool(workers, timeout).map([(options, pairs[i][1]) for i, options in slow])
        for (index, _), verdict in zip(slow, verdicts, strict=True):
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
    pairs: list[tuple[tuple[str, ...], str]] = []
    where: list[int] = []
    verdicts: list[tuple[bool, str | None]] = [(False, None)] * len(preds)
    identical = [False] * len(preds)
    for index, (pred, ex, gold) in enumerate(zip(preds, extractions, golds, strict=True)):
        if not gold.strip():
            continue
        if len(pred) <= _IDENTICAL_MAX_CHARS and _squash(pred) == _squash(gold):
            verdicts[index], identical[index] = (True, None), True
        elif ex.answer is not None:
            pairs.append((readings(ex), gold.strip()))
            where.append(index)
    for index, verdict in zip(where, equivalent_many(pairs, workers=workers, timeout=timeout)):
        verdicts[index] = verdict
    grades = []
    for pred, ex, gold, (ok, error), same in zip(preds, extractions, golds, verdicts, identical, strict=True):
        error = "gold_empty" if not gold.strip() else error
        if same and ex.answer is None:
            # Nothing to extract from a word answer such as "Monday": report the whole of it.
            ex = Extraction(pred.strip(), "identical")
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
