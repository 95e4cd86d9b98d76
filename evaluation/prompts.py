"""Prompts per benchmark, and gold-answer extraction for GSM8K-layout problems.

Styles (a param per benchmark, `evaluate.benchmarks[i].prompt`):
  - `synthetic`: "Question: ...\\nAnswer:\\n", the format our tiny models are trained on (SFT,
    GRPO and evaluation all use `synthetic_prompt`; its output must not change);
  - `cot`: the paper's instruct/RL prompt, the question then "Please reason step by step, and
    put your final answer within \\boxed{}." (PAPER_FACTS, Evaluation conventions);
  - `gsm8k-8shot` / `math-4shot`: few-shot chain of thought for base models, with exemplars
    written for this project (`evaluation.fewshot`), not the paper's own few-shot prompts.
"""

from __future__ import annotations

import re

from evaluation.fewshot import GSM8K_SHOTS, MATH_SHOTS

PROMPT_STYLES = ("synthetic", "cot", "gsm8k-8shot", "math-4shot")
COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

# One "#### N" line; the last one wins if a solution (oddly) contains several.
_GOLD_LINE = re.compile(r"^[ \t]*####[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)


def synthetic_prompt(question: str) -> str:
    """Return the prompt the model sees for `question` (SFT, RL and evaluation all use it)."""
    return f"Question: {question}\nAnswer:\n"


def cot_prompt(question: str) -> str:
    """The paper's chain-of-thought prompt for instruct and RL models."""
    return f"{question}\n{COT_INSTRUCTION}"


def _fewshot(shots: tuple[tuple[str, str], ...], question: str, q: str, a: str) -> str:
    blocks = [f"{q}: {shot_q}\n{a}: {shot_a}" for shot_q, shot_a in shots]
    return "\n\n".join([*blocks, f"{q}: {question}\n{a}:"])


def build_prompt(style: str, question: str) -> str:
    """The prompt for `question` in one of `PROMPT_STYLES`."""
    if style == "synthetic":
        return synthetic_prompt(question)
    if style == "cot":
        return cot_prompt(question)
    if style == "gsm8k-8shot":
        return _fewshot(GSM8K_SHOTS, question, "Question", "Answer")
    if style == "math-4shot":
        return _fewshot(MATH_SHOTS, question, "Problem", "Solution")
    raise ValueError(f"prompt: must be one of {PROMPT_STYLES}, got {style!r}")


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
