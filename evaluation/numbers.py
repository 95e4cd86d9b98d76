"""Exact numeric canonicalisation of short answers: the grader's fast path before math-verify.

`normalize_number` maps every spelling of a rational number that answers commonly use ("1,000",
"$12.", "6.0", "1/2", "\\frac{1}{2}", "50%") to one canonical string, using `fractions.Fraction`
and `decimal.Decimal` only: nothing is evaluated, and strings longer than `MAX_NUMBER_CHARS`
are refused so that no huge integer arithmetic can be triggered by model output.
`decimal_comma` gives the second reading the grader tries for a European "3,5" (3.5).
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

# Longer strings are not plausible numeric answers; capping avoids huge integer arithmetic.
MAX_NUMBER_CHARS = 100

# Wrappers a number may carry in a final answer. "%" is stripped here; `number_value` keeps it.
_STRIP_TOKENS = ("\\$", "$", "\\!", "\\,", "\\;", "~", " ")
_PERCENT_TOKENS = ("\\%", "%")
# Commas are only removed when they are thousands separators ("1,2,3" is not a number).
_THOUSANDS_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_PLAIN_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SLASH_RE = re.compile(r"([-+]?\d+)/([-+]?\d+)")
_FRAC_RE = re.compile(r"([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{([-+]?\d+)\}")
_TEXT_UNIT_RE = re.compile(r"\\(?:text|mbox|mathrm)\{[^{}]*\}$")
# One comma, no space, and not a thousands group after it (or a leading 0): "3,5", "0,125".
_DECIMAL_COMMA_RE = re.compile(r"([-+]?)(\d+),(\d+)")


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


def canonical(value: Fraction) -> str:
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
        ctx.prec = 2 * MAX_NUMBER_CHARS + 10
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return format(exact.normalize(), "f")


def number_value(s: str | None) -> tuple[Fraction, bool] | None:
    """(value, had_percent_sign) of the number `s` denotes, or None if it is not a plain number.

    Strips "$", spaces, thin spaces, a trailing "." and a trailing `\\text{unit}`; accepts
    integers, decimals, thousands separators, "p/q" and "\\frac{p}{q}".
    """
    if s is None:
        return None
    t = s.strip()
    if len(t) > MAX_NUMBER_CHARS:
        return None
    t = _TEXT_UNIT_RE.sub("", t)  # "5\\text{ cm}" -> "5": units never change the number
    for token in _STRIP_TOKENS:
        t = t.replace(token, "")
    percent = any(token in t for token in _PERCENT_TOKENS)
    for token in _PERCENT_TOKENS:
        t = t.replace(token, "")
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    t = t.rstrip(".")
    if "," in t:
        if not _THOUSANDS_RE.fullmatch(t):
            return None
        t = t.replace(",", "")
    if not t:
        return None
    value = _to_fraction(t)
    return None if value is None else (value, percent)


def normalize_number(s: str | None) -> str | None:
    """Canonical string of the number `s` denotes ("1,000." -> "1000", "6.0" -> "6"), else None.

    A percent sign is dropped ("50%" -> "50"). Two strings denote the same number iff their
    canonical forms are equal.
    """
    parsed = number_value(s)
    return None if parsed is None else canonical(parsed[0])


def decimal_comma(s: str | None) -> str | None:
    """The decimal-point spelling of a decimal-comma number ("3,5" -> "3.5"), else None.

    Only a whole answer that is one number with one comma between digits and no space counts,
    and "1,234" (three digits after a leading group that is not 0) stays a thousands separator:
    "1,234" -> None, "0,125" -> "0.125", "2, 5" and "1,2,3" -> None (lists).
    """
    if s is None:
        return None
    match = _DECIMAL_COMMA_RE.fullmatch(s.strip().strip("$").strip())
    if not match or len(match.group(0)) > MAX_NUMBER_CHARS:
        return None
    sign, whole, fraction = match.groups()
    if len(fraction) == 3 and whole != "0":
        return None
    return f"{sign}{whole}.{fraction}"
