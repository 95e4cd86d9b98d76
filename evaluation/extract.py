"""Final-answer extraction from a model completion (pure string scanning, linear time).

Answer markers (*strict*: the model used an answer format). The marker that appears LAST in the
text wins, whatever its kind, because a model that corrects itself states the answer again:
  - `#### N`: GSM8K's and our SFT format, at the start of a line or after text on the same line
    ("so 5 + 3 = 8 #### 8"). A `####` followed by a word is a markdown heading ("#### Step 2:
    compute", "#### 2. Compute the area"), not an answer; "#### Answer: 42" is the answer 42,
    and so is a "#### Final Answer" heading whose next line is "**42**".
    The answer is the whole rest of the line when that is a bare answer ("#### 2, 3",
    "#### \\frac{1}{2}", "#### $1,000"), else its first number ("#### 18 dollars" -> 18);
  - `\\boxed{...}` / `\\fbox{...}` (braces nest; the paper's CoT prompt). Boxes joined only by list
    words ("$\\boxed{2}$ and $\\boxed{3}$", "\\boxed{2}, \\boxed{3}", "x = \\boxed{2} or x = \\boxed{3}")
    are ONE answer read two ways: the list "2, 3" (math-verify reads it as a set), and its last
    box alone, because MATH's gold answers keep only the last box of a reference solution that
    boxes several ("the answers are $\\boxed{-2}$ and $\\boxed{1}$" has gold 1). Boxes separated
    by anything else (text, or nothing but spaces) are successive attempts: the last one counts;
  - "The answer is X" (our few-shot prompts' format), X right after it (filler such as
    "therefore" may come between): a box, a `$...$` span, a number ("x = 5" gives 5), else a
    short phrase up to the end of the sentence ("The answer is Monday."). A phrase loses to every
    other marker, wherever it stands: "we check that our answer is correct." has the same shape.
Without a marker (*lenient*: any answer found counts for `correct`, not for `strict`):
  - a bare answer: the whole text, when it is one short line that is not prose (what
    `python -m evaluation.grade` receives when `pred` is already an answer; LaTeX commands,
    environments such as pmatrix and `\\text{...}` are not prose);
  - the last LaTeX math span (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`) when no digit follows it
    and it is not prose: "we find that $x = \\frac{1}{2}$." gives "x = \\frac{1}{2}", not 2. A span
    that is working ("$2 + 2 = 4$") gives what follows its last "="; a "$" pair holding words is
    currency ("$5 and $"), not math;
  - the last number anywhere, where "3/4" is one number.
Numbers: "1,234" (comma groups of exactly three digits) is a thousands separator; "3,5", "0,125",
"3,14159" (one comma, no space, not three digits after it, or a leading 0) is one decimal-comma
number, whose reading as 3.5 the grader tries as well; "1,2,3" and "2, 5" are lists.

Safety: only the last `MAX_CHARS` characters are read (a megabyte completion costs the same as
a short one), the brace matcher is one left-to-right pass (thousands of nested or unbalanced
braces stay linear), math spans are capped in length, and answers longer than
`MAX_ANSWER_CHARS` are dropped. The completion is cut at the first "\\nQuestion:" or
"\\nProblem:" (the few-shot prompts' markers) because a model that missed its EOS tends to start
a new problem, whose answer must not be graded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from inputs.latex import boxed_spans, last_boxed

__all__ = ["MAX_ANSWER_CHARS", "MAX_CHARS", "STRICT_METHODS", "Extraction", "extract", "extract_answer",
           "last_boxed"]

MAX_CHARS = 10_000
MAX_ANSWER_CHARS = 1_000
STRICT_METHODS = ("hash", "boxed", "answer_is")

# A sign only counts when it does not follow a word character or ")" ("5-3" is not "-3").
_SIGN = r"(?:(?<![\w)])[-+])?"
# Decimal comma first: "3,5" and "0,125"; never next to another comma ("1,2,3" is a list).
_DECIMAL_COMMA = r"(?<!\d,)(?:\d+,(?:\d{1,2}|\d{4,})|0,\d+)(?![\d,])"
# Thousands groups are exactly three digits after a leading group that does not start with 0.
_THOUSANDS = r"[1-9]\d{0,2}(?:,\d{3})+(?!\d)(?:\.\d+)?"
_FRACTION = r"(?<![\w/.,])\d+/\d+(?![\w/]|\.\d)"
_NUMBER_RE = re.compile(_SIGN + rf"(?:{_FRACTION}|{_DECIMAL_COMMA}|{_THOUSANDS}|\d+(?:\.\d+)?|\.\d+)")

_HASH_RE = re.compile(r"(?<!#)####(?!#)[ \t]*([^\n]*)")
_ANSWER_PREFIX_RE = re.compile(r"(?:final\s+)?answer\b\s*(?:is\b)?\s*:?\s*", re.IGNORECASE)
# After "####": a word ("Step 2") or a numbered title ("2. Compute the area") is a heading.
_HEADING_RE = re.compile(r"[A-Za-z]{2,}|\d+[.)]\s+[A-Za-z]")
_ANSWER_IS_RE = re.compile(r"(?:final )?answer is[:\s]*", re.IGNORECASE)
# "The answer is therefore 12": a few words may stand between the marker and the answer.
_FILLER_RE = re.compile(r"(?:(?:therefore|thus|then|hence|so|simply|just|exactly|indeed)[\s,:]+)*", re.I)
_VARIABLE_RE = re.compile(r"[A-Za-z]\s*=\s*")  # "The answer is x = 5"
_PHRASE_RE = re.compile(r"(\\text\{[^{}]{1,40}\}|[A-Za-z][A-Za-z' -]{0,39}?)\s*(?:[.!;\n]|$)")
_STOPS = ("\nQuestion:", "\nProblem:")
# Prose test: LaTeX commands, environment names and \text{...} groups are not words.
_LATEX_TEXT_RE = re.compile(
    r"\\(?:text|mbox|mathrm|textbf)\{[^{}]*\}|\\(?:begin|end)\{[A-Za-z*]+\}|\\[A-Za-z]+"
)
_WORD_RE = re.compile(r"[A-Za-z]{2,}")
# "x = 5" is an answer; "5-3 = 2" is working, whose last number is the answer.
_WORKING_RE = re.compile(r"=(?<!^[A-Za-z]\s=)(?<!^[A-Za-z]=)")
_BARE_MAX_CHARS = 200
# What may separate boxes of one list answer, once "$", "\\(" and \text{} wrappers are dropped.
_LIST_GAP_RE = re.compile(r"\s*(?:,|;|,?\s*\b(?:and|or)\b)\s*(?:[A-Za-z](?:_\{?\w+\}?)?\s*=\s*)?", re.I)
_GAP_NOISE_RE = re.compile(r"\$|\\[()]|\\quad|\\,|\\text\{|\}")
# Math spans, each capped in length so that unclosed delimiters cannot make the scan quadratic.
_MATH_SPAN_RE = re.compile(
    r"\$\$([^$]{1,1000}?)\$\$|\\\[(.{1,1000}?)\\\]|\\\((.{1,1000}?)\\\)"
    r"|(?<![\\\d$])\$([^$\n]{1,1000}?)(?<!\\)\$",
    re.DOTALL,
)


@dataclass(frozen=True)
class Extraction:
    """What was extracted and how: `answer` is None when nothing was found. `alternatives` are
    other readings of the same marker (the last box of a list of boxes), tried as well."""

    answer: str | None
    method: str  # "hash" | "boxed" | "answer_is" | "bare" | "last_latex" | "last_number" | "none"
    alternatives: tuple[str, ...] = ()

    @property
    def strict(self) -> bool:
        """True when the answer came from an explicit answer format."""
        return self.method in STRICT_METHODS


class _Marker(NamedTuple):
    position: int
    answer: str
    alternatives: tuple[str, ...] = ()
    weak: bool = False  # a phrase after "The answer is": loses to any other marker


def _first_number(text: str) -> str | None:
    match = _NUMBER_RE.search(text)
    return match.group(0) if match else None


def _bare(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or "\n" in stripped or len(stripped) > _BARE_MAX_CHARS:
        return None
    if _WORD_RE.search(_LATEX_TEXT_RE.sub(" ", stripped)) or _WORKING_RE.search(stripped):
        return None
    return stripped.strip("$").strip() or None


def _hash_marker(text: str) -> _Marker | None:
    """The last `####` answer marker that is not a heading."""
    found = None
    for match in _HASH_RE.finditer(text):
        content = match.group(1).strip().strip("*").strip()
        prefix = _ANSWER_PREFIX_RE.match(content)
        if prefix:
            content = content[prefix.end() :].strip("*").strip()
            if not content:  # "#### Final Answer" as a heading: the answer is the next line
                following = text[match.end() :].lstrip("\n")
                content = following.split("\n", 1)[0].strip().strip("*").strip()
        elif _HEADING_RE.match(content):
            continue
        bare = _bare(content)
        answer = bare.rstrip(".").strip() if bare else _first_number(content)
        if answer:
            found = _Marker(match.start(), answer)
    return found


def _is_list_gap(gap: str) -> bool:
    return bool(_LIST_GAP_RE.fullmatch(_GAP_NOISE_RE.sub(" ", gap)))


def _boxed_marker(text: str) -> _Marker | None:
    """The last box, with the boxes listed before it by list words: answer "2, 3" and, as an
    alternative reading, the last box alone (MATH's convention for its gold answers)."""
    spans = boxed_spans(text)
    if not spans:
        return None
    run = [spans[-1]]
    for span in reversed(spans[:-1]):
        # A box that ends after the next one opens contains it: not a separate list item.
        if span[2] >= run[0][0] or not _is_list_gap(text[span[2] + 1 : run[0][0]]):
            break
        run.insert(0, span)
    answers = [text[start:end].strip() for _, start, end in run]
    joined = ", ".join(answers)
    if len(run) == 1 or not all(answers) or len(joined) > MAX_ANSWER_CHARS:
        return _Marker(run[-1][0], answers[-1])
    return _Marker(run[-1][0], joined, (answers[-1],))


def _answer_is_marker(text: str) -> _Marker | None:
    """The last "The answer is X" whose X comes right after it (after a few filler words):
    "our answer is correct: 5 + 3 = 8" states no answer."""
    matches = list(_ANSWER_IS_RE.finditer(text))
    if not matches:
        return None
    tail = text[matches[-1].end() : matches[-1].end() + 200]
    tail = tail[_FILLER_RE.match(tail).end() :]
    position = matches[-1].start()
    boxed = last_boxed(tail)
    if boxed and tail.lstrip("$ ").startswith(("\\boxed", "\\fbox")):
        return _Marker(position, boxed)
    if tail.startswith("$") and tail.find("$", 1) > 1:
        # "The answer is $\frac{1}{2}$." -> the math span.
        return _Marker(position, tail[1 : tail.find("$", 1)].strip())
    after_variable = tail[_VARIABLE_RE.match(tail).end() :] if _VARIABLE_RE.match(tail) else tail
    number = _NUMBER_RE.match(after_variable.lstrip("\\$"))
    if number:
        return _Marker(position, number.group(0))
    phrase = _PHRASE_RE.match(tail)
    return _Marker(position, phrase.group(1).strip(), weak=True) if phrase else None


def _last_latex(text: str) -> str | None:
    last = None
    for last in _MATH_SPAN_RE.finditer(text):
        pass
    if last is None or re.search(r"\d", text[last.end() :]):
        return None
    content = next(group for group in last.groups() if group is not None).strip()
    if _WORD_RE.search(_LATEX_TEXT_RE.sub(" ", content)):
        return None  # words between two "$": currency and prose, not math
    if _WORKING_RE.search(content):
        content = content.rsplit("=", 1)[1].strip()
    return content or None


def extract(completion: str) -> Extraction:
    """Return the final answer of `completion` and the rule that found it."""
    cuts = [i for i in (completion.find(stop) for stop in _STOPS) if i != -1]
    text = completion[: min(cuts)] if cuts else completion
    text = text[-MAX_CHARS:]
    markers = [(found, method) for method, rule in
               (("hash", _hash_marker), ("boxed", _boxed_marker), ("answer_is", _answer_is_marker))
               if (found := rule(text)) is not None]
    if markers:
        found, method = max(markers, key=lambda m: (not m[0].weak, m[0].position))
        return _capped(found.answer, method, found.alternatives)
    for method, rule in (("bare", _bare), ("last_latex", _last_latex)):
        answer = rule(text)
        if answer is not None:
            return _capped(answer, method)
    numbers = _NUMBER_RE.findall(text)
    return Extraction(numbers[-1], "last_number") if numbers else Extraction(None, "none")


def _capped(answer: str, method: str, alternatives: tuple[str, ...] = ()) -> Extraction:
    if len(answer) > MAX_ANSWER_CHARS:
        return Extraction(None, "none")
    return Extraction(answer, method, alternatives)


def extract_answer(completion: str) -> str | None:
    """The final answer string of `completion`, or None if it has none."""
    return extract(completion).answer
