"""Rule-based reward: 1 if the completion's final answer is equivalent to the gold answer, else 0.

It calls `evaluation.grader.grade_many`, the scorer evaluation uses (and `is_correct` wraps), so
the metric and the RL reward cannot drift apart (one scorer). One batched call per step: integer
answers take the in-process numeric fast path; anything else goes to the math-verify workers
with their hard timeout, where a timeout is reward 0.
"""

from __future__ import annotations

from evaluation.grader import grade_many

_BAD_GOLD = ("gold_empty", "gold_unparseable")


def rule_rewards(completions: list[str], golds: list[str]) -> list[float]:
    if len(completions) != len(golds):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    grades = grade_many(completions, golds)
    for gold, grade in zip(golds, grades, strict=True):
        if grade.error in _BAD_GOLD:
            # A gold that cannot be graded is a data bug; a silent zero reward would hide it.
            raise ValueError(f"gold: cannot be graded ({grade.error}): {gold!r}")
    return [1.0 if grade.correct else 0.0 for grade in grades]
