"""Rule-based reward: 1 if the completion's final answer equals the gold answer, else 0.

It calls `evaluation.grader.is_correct`, the same function evaluation uses, so the metric and the
RL reward cannot drift apart (one scorer).
"""

from __future__ import annotations

from evaluation.grader import is_correct


def rule_rewards(completions: list[str], golds: list[str]) -> list[float]:
    if len(completions) != len(golds):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    return [1.0 if is_correct(c, g) else 0.0 for c, g in zip(completions, golds)]
