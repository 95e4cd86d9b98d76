"""Final-answer extraction from a model completion (pure string scanning, linear time).

Order (the first rule that finds something wins):
  1. the last `#### N` line (GSM8K's and our SFT format),
  2. the last balanced `\\boxed{...}` or `\\fbox{...}` (braces nest; the paper's CoT prompt),
  3. the last "The answer is X" (our few-shot prompts' format),
  4. a bare answer: the whole text, when it is one short line that is not prose (what
     `python -m evaluation.grade` receives when `pred` is already an answer),
  5. the last number anywhere in the text.
Rules 1-3 are *strict* (the model used an answer format); 4-5 are *lenient* only, so that a
model that learns the format is not mistaken for one that learns the math.

Safety: only the last `MAX_CHARS` characters are read (a megabyte completion costs the same as
a short one), the brace matcher is one left-to-right pass (thousands of nested or unbalanced
braces stay linear), and answers longer than `MAX_ANSWER_CHARS` are dropped.
The completion is cut at the first "\\nQuestion:" or "\\nProblem:" (the few-shot prompts'
markers) because a model that missed its EOS tends to
start a new problem, whose answer must not be graded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inputs.latex import last_boxed

MAX_CHARS = 10_000
MAX_ANSWER_CHARS = 1_000
STRICT_METHODS = ("hash", "boxed", "answer_is")

# A sign only counts when it does not follow a word character or ")" ("5-3" is not "-3").
# Comma groups must be exactly three digits ("1,000" but not "1,00").
_NUMBER = r"(?:(?<![\w)])[-+])?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|(?:(?<![\w)])[-+])?\.\d+"
_NUMBER_RE = re.compile(_NUMBER)
_HASH_LINE_RE = re.compile(r"^[ \t]*####[ \t]*(.*)$", re.MULTILINE)
_ANSWER_IS_RE = re.compile(r"(?:final )?answer is[:\s]*", re.IGNORECASE)
_STOPS = ("\nQuestion:", "\nProblem:")
# Prose test for bare answers: LaTeX commands and \text{...} groups are not words.
_LATEX_TEXT_RE = re.compile(r"\\(?:text|mbox|mathrm|textbf)\{[^{}]*\}|\\[A-Za-z]+")
_WORD_RE = re.compile(r"[A-Za-z]{2,}")
# "x = 5" is an answer; "5-3 = 2" is working, whose last number is the answer.
_WORKING_RE = re.compile(r"=(?<!^[A-Za-z]\s=)(?<!^[A-Za-z]=)")
_BARE_MAX_CHARS = 200


@dataclass(frozen=True)
class Extraction:
    """What was extracted and how: `answer` is None when nothing was found."""

    answer: str | None
    method: str  # "hash" | "boxed" | "answer_is" | "bare" | "last_number" | "none"

    @property
    def strict(self) -> bool:
        """True when the answer came from an explicit answer format (rules 1-3)."""
        return self.method in STRICT_METHODS


def _first_number(text: str) -> str | None:
    match = _NUMBER_RE.search(text)
    return match.group(0) if match else None


def _hash_answer(text: str) -> str | None:
    lines = _HASH_LINE_RE.findall(text)
    if not lines:
        return None
    content = lines[-1].strip()
    number = _first_number(content)
    return number if number is not None else (content or None)


def _answer_is(text: str) -> str | None:
    matches = list(_ANSWER_IS_RE.finditer(text))
    if not matches:
        return None
    tail = text[matches[-1].end() : matches[-1].end() + 200]
    boxed = last_boxed(tail)
    if boxed:
        return boxed
    # "The answer is $\frac{1}{2}$." -> the math span; else the first number after it.
    if tail.startswith("$") and tail.find("$", 1) > 1:
        return tail[1 : tail.find("$", 1)].strip()
    return _first_number(tail)


def _bare(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or "\n" in stripped or len(stripped) > _BARE_MAX_CHARS:
        return None
    if _WORD_RE.search(_LATEX_TEXT_RE.sub(" ", stripped)) or _WORKING_RE.search(stripped):
        return None
    return stripped.strip("$").strip() or None


def extract(completion: str) -> Extraction:
    """Return the final answer of `completion` and the rule that found it."""
    cuts = [i for i in (completion.find(stop) for stop in _STOPS) if i != -1]
    text = completion[: min(cuts)] if cuts else completion
    text = text[-MAX_CHARS:]
    for method, rule in (("hash", _hash_answer), ("boxed", last_boxed), ("answer_is", _answer_is)):
        answer = rule(text)
        if answer:
            return _capped(answer, method)
    bare = _bare(text)
    if bare is not None:
        return _capped(bare, "bare")
    numbers = _NUMBER_RE.findall(text)
    return Extraction(numbers[-1], "last_number") if numbers else Extraction(None, "none")


def _capped(answer: str, method: str) -> Extraction:
    if len(answer) > MAX_ANSWER_CHARS:
        return Extraction(None, "none")
    return Extraction(answer, method)


def extract_answer(completion: str) -> str | None:
    """The final answer string of `completion`, or None if it has none."""
    return extract(completion).answer
