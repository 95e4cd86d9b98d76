"""Prompt formats: one params value (`prompt`) shared by SFT, RL, reward-model data and evaluation.

Formats a model is trained and evaluated with (`FORMATS`):
  - `plain`: "Question: ...\\nAnswer:\\n", for the tiny models trained from scratch (the embedded
    default's format; its output must not change);
  - `cot`: the paper's instruct/RL prompt as one chat turn in the released models' format
    (PAPER_FACTS, Evaluation conventions):
    "User: {question}\\nPlease reason step by step, and put your final answer within \\boxed{}.\\n\\nAssistant:";
  - `chat`: the same user message through the tokenizer's own chat template (with the
    generation prompt), for models that have one; a tokenizer without one is an error.
A trained model directory records its format (`prompt.json`, written by `record_format`);
evaluation's `model` style reads it back, so a model is evaluated the way it was trained.
Evaluation styles add few-shot chain of thought for base models: `gsm8k-8shot` / `math-4shot`,
with exemplars written for this project (`evaluation.fewshot`), not the paper's own.

Training targets (`training_target`): the problem's solution with GSM8K calculator annotations
(`<<48/2=24>>`) removed; for `cot` and `chat`, a GSM8K-style final `#### N` line becomes
"The final answer is $\\boxed{N}$." so that the target answers the way the prompt asks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evaluation.fewshot import GSM8K_SHOTS, MATH_SHOTS

FORMATS = ("plain", "cot", "chat")
FEWSHOT_STYLES = ("gsm8k-8shot", "math-4shot")
EVAL_STYLES = ("model", *FORMATS, *FEWSHOT_STYLES)
COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
FORMAT_FILE = "prompt.json"

_CALC = re.compile(r"<<[^<>\n]*>>")
_HASH_LINE = re.compile(r"^[ \t]*####[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)


def plain_prompt(question: str) -> str:
    """The embedded default's prompt (SFT, RL and evaluation of the tiny models)."""
    return f"Question: {question}\nAnswer:\n"


def cot_prompt(question: str) -> str:
    """The paper's chain-of-thought prompt as one chat turn of the released models."""
    return f"User: {question}\n{COT_INSTRUCTION}\n\nAssistant:"


def chat_prompt(question: str, tokenizer: Any) -> str:
    """The CoT user message through the tokenizer's chat template, ready for the answer."""
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise ValueError("prompt: 'chat' needs a tokenizer with a chat template; this one has none "
                         "(use 'cot' for the paper's format without a template)")
    messages = [{"role": "user", "content": f"{question}\n{COT_INSTRUCTION}"}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def check_format(fmt: str, tokenizer: Any = None) -> None:
    """ValueError naming `prompt` for an unknown format, or `chat` without a template."""
    if fmt not in FORMATS:
        raise ValueError(f"prompt: must be one of {FORMATS}, got {fmt!r}")
    if fmt == "chat":
        chat_prompt("check", tokenizer)


def format_prompt(fmt: str, question: str, tokenizer: Any = None) -> str:
    """The prompt for `question` in training format `fmt`."""
    if fmt == "plain":
        return plain_prompt(question)
    if fmt == "cot":
        return cot_prompt(question)
    if fmt == "chat":
        return chat_prompt(question, tokenizer)
    raise ValueError(f"prompt: must be one of {FORMATS}, got {fmt!r}")


def training_target(problem: dict, fmt: str) -> str:
    """The text a model learns to produce for a normalised problem under format `fmt`."""
    text = _CALC.sub("", problem["solution"]).rstrip()
    if fmt != "plain" and _HASH_LINE.search(text):
        # Only the final marker line is rewritten; the working above it stays as written.
        lines = text.split("\n")
        last = max(i for i, line in enumerate(lines) if _HASH_LINE.match(line))
        lines[last] = f"The final answer is $\\boxed{{{problem['answer']}}}$."
        text = "\n".join(lines)
    return text


def _fewshot(shots: tuple[tuple[str, str], ...], question: str, q: str, a: str) -> str:
    blocks = [f"{q}: {shot_q}\n{a}: {shot_a}" for shot_q, shot_a in shots]
    return "\n\n".join([*blocks, f"{q}: {question}\n{a}:"])


def build_prompt(style: str, question: str, *, model_format: str | None = None, tokenizer: Any = None) -> str:
    """The evaluation prompt for `question` in one of `EVAL_STYLES` (`model`: the model's format)."""
    if style == "model":
        if model_format is None:
            raise ValueError(f"prompt: 'model' needs a model directory with {FORMAT_FILE} (written by "
                             "training); for a base model choose a format or a few-shot style")
        return format_prompt(model_format, question, tokenizer)
    if style == "gsm8k-8shot":
        return _fewshot(GSM8K_SHOTS, question, "Question", "Answer")
    if style == "math-4shot":
        return _fewshot(MATH_SHOTS, question, "Problem", "Solution")
    if style in FORMATS:
        return format_prompt(style, question, tokenizer)
    raise ValueError(f"prompt: must be one of {EVAL_STYLES}, got {style!r}")


def record_format(model_dir: str | Path, fmt: str) -> None:
    """Write the training format into a model directory (inside an atomic save)."""
    (Path(model_dir) / FORMAT_FILE).write_text(json.dumps({"format": fmt}) + "\n")


def read_format(model_dir: str | Path) -> str | None:
    """The format a model directory was trained with, or None (a base model, or an old save)."""
    path = Path(model_dir) / FORMAT_FILE
    if not path.is_file():
        return None
    fmt = json.loads(path.read_text()).get("format")
    if fmt not in FORMATS:
        raise ValueError(f"{path}: format must be one of {FORMATS}, got {fmt!r}")
    return fmt


def with_prompts(problems: list[dict], fmt: str, tokenizer: Any = None) -> list[dict]:
    """Copies of normalised problems with their `prompt` in format `fmt` (what RL and RM data sample from)."""
    return [{**p, "prompt": format_prompt(fmt, p["question"], tokenizer)} for p in problems]
