"""The project's one answer scorer: extract a final answer from a completion and grade it.

`is_correct` is called both by evaluation and by the RL rule reward (GUIDE principle 5), so the
two can never disagree about what counts as right.

Extraction order (first that finds something wins):
  1. the last `#### N` line (the GSM8K / our SFT format),
  2. the last `\\boxed{...}` (braces may nest; the paper's instruct prompt asks for it),
  3. the last "The answer is X",
  4. the last number anywhere in the text.

Departures from the paper's evaluation (which uses symbolic equivalence for MATH): answers are
compared numerically only (integers, decimals, simple fractions), which is exact for GSM8K-style
integer answers; a later issue adds math-verify for MATH. The completion is cut at the first
"\\nQuestion:" because a model that missed its EOS tends to start a new problem, whose answer must
not be graded. Model output is never executed: numbers are parsed with `fractions.Fraction`.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

# Only the tail is searched so extraction stays linear-time on runaway completions.
MAX_CHARS = 10_000

# A sign only counts when it does not follow a word character or ")" ("5-3" is not "-3").
# Comma groups must be exactly three digits ("1,000" but not "1,00").
_NUMBER = r"(?:(?<![\w)])[-+])?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|(?:(?<![\w)])[-+])?\.\d+"
_NUMBER_RE = re.compile(_NUMBER)
_HASH_LINE_RE = re.compile(r"^[ \t]*####[ \t]*(.*)$", re.MULTILINE)
_ANSWER_IS_RE = re.compile(r"the answer is[:\s]*", re.IGNORECASE)
_BOXED = "\\boxed{"
_STOP = "\nQuestion:"

# Canonicalisation inputs: wrappers a number may carry in a final answer.
_STRIP_TOKENS = ("\\$", "$", "\\%", "%", "\\!", " ")
# Commas are only removed when they are thousands separators ("1,2,3" is not a number).
_THOUSANDS_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_PLAIN_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SLASH_RE = re.compile(r"([-+]?\d+)/([-+]?\d+)")
_FRAC_RE = re.compile(r"([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{([-+]?\d+)\}")
# Longer strings are not plausible answers; capping avoids huge integer arithmetic.
_MAX_NUMBER_CHARS = 100


def _first_number(text: str) -> str | None:
    match = _NUMBER_RE.search(text)
    return match.group(0) if match else None


def _last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} with balanced braces, or None."""
    start = text.rfind(_BOXED)
    while start != -1:
        depth, i = 1, start + len(_BOXED)
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[start + len(_BOXED) : i - 1].strip()
        # Unbalanced (truncated) box: try an earlier one.
        start = text.rfind(_BOXED, 0, start)
    return None


def extract_answer(completion: str) -> str | None:
    """Return the final answer string of `completion`, or None if it has none."""
    stop = completion.find(_STOP)
    text = completion if stop == -1 else completion[:stop]
    text = text[-MAX_CHARS:]
    hash_lines = _HASH_LINE_RE.findall(text)
    if hash_lines:
        content = hash_lines[-1].strip()
        number = _first_number(content)
        if number is not None:
            return number
        if content:
            return content
    boxed = _last_boxed(text)
    if boxed:
        return boxed
    answer_is = list(_ANSWER_IS_RE.finditer(text))
    if answer_is:
        number = _first_number(text[answer_is[-1].end() : answer_is[-1].end() + 100])
        if number is not None:
            return number
    numbers = _NUMBER_RE.findall(text)
    return numbers[-1] if numbers else None


def _to_fraction(s: str) -> Fraction | None:
    if _PLAIN_RE.fullmatch(s):
        return Fraction(Decimal(s))
    slash = _SLASH_RE.fullmatch(s)
    frac = None if slash else _FRAC_RE.fullmatch(s)
    if slash:
        num, den, sign = int(slash.group(1)), int(slash.group(2)), 1
    elif frac:
        num, den = int(frac.group(2)), int(frac.group(3))
        sign = -1 if frac.group(1) == "-" else 1
    else:
        return None
    return None if den == 0 else sign * Fraction(num, den)


def _canonical(value: Fraction) -> str:
    """Unique string per rational value: an integer, a terminating decimal, or 'p/q'."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        # Enough precision that the division of a terminating fraction is exact.
        ctx.prec = 2 * _MAX_NUMBER_CHARS + 10
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return format(exact.normalize(), "f")


def normalize_number(s: str | None) -> str | None:
    """Canonical string of the number `s` denotes ("1,000." -> "1000", "6.0" -> "6"), else None.

    Strips commas, "$", "%", spaces and a trailing "."; accepts integers, decimals, "p/q" and
    "\\frac{p}{q}". Two strings denote the same number iff their canonical forms are equal.
    """
    if s is None:
        return None
    t = s.strip()
    for token in _STRIP_TOKENS:
        t = t.replace(token, "")
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    t = t.rstrip(".")
    if "," in t:
        if not _THOUSANDS_RE.fullmatch(t):
            return None
        t = t.replace(",", "")
    if not t or len(t) > _MAX_NUMBER_CHARS:
        return None
    value = _to_fraction(t)
    return None if value is None else _canonical(value)


def is_correct(completion: str, gold: str) -> bool:
    """True iff the answer extracted from `completion` numerically equals `gold`.

    Raises ValueError if `gold` is not a number: a malformed gold answer is a data bug that must
    surface, not a silent zero reward.
    """
    gold_norm = normalize_number(gold)
    if gold_norm is None:
        raise ValueError(f"gold: not a number: {gold!r}")
    return normalize_number(extract_answer(completion)) == gold_norm
