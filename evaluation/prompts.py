"""Prompt format and gold-answer extraction for GSM8K-layout problems.

The paper's instruct/RL prompt is the question followed by "Please reason step by step, and put
your final answer within \\boxed{}." Our tiny models are trained from scratch on synthetic
problems, so the walking skeleton uses a shorter fixed template instead: the SFT target for a
problem is its `answer` field (chain of thought ending in "#### N") followed by the EOS token,
and evaluation prompts with exactly the same template, so train and test formats agree.
"""

from __future__ import annotations

import re

# One "#### N" line; the last one wins if a solution (oddly) contains several.
_GOLD_LINE = re.compile(r"^[ \t]*####[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)


def synthetic_prompt(question: str) -> str:
    """Return the prompt the model sees for `question` (SFT, RL and evaluation all use it)."""
    return f"Question: {question}\nAnswer:\n"


def gold_answer(answer_field: str) -> str:
    """Return N from the final `#### N` line of a GSM8K-style answer field, stripped.

    Raises ValueError quoting the answer text when no such line exists, because a problem
    without a gold answer cannot be graded and must not be silently skipped.
    """
    matches = _GOLD_LINE.findall(answer_field)
    if not matches:
        shown = answer_field if len(answer_field) <= 200 else answer_field[:200] + "..."
        raise ValueError(f"answer: no '#### N' line in {shown!r}")
    return matches[-1]
