"""Majority-vote keys: equivalent answers of one problem share a key, so votes are grouped by
mathematical equivalence rather than string equality ("1/2", "0.5" and "\\frac{1}{2}" are one).

Keys, per sample: every correct sample gets `GOLD_KEY` (each is equivalent to the gold answer);
a wrong sample gets `grader.vote_key` (canonical rational, else the whitespace-free string);
then distinct non-numeric wrong keys of one problem are merged when the shared grader finds
them equivalent (the earlier key is kept). Only the first `MAX_MERGE` distinct non-numeric wrong
keys per problem are compared (quadratic in that number); the rest keep their own key.
"""

from __future__ import annotations

from typing import Sequence

from evaluation.grader import equivalent_many, vote_key
from evaluation.numbers import number_value

GOLD_KEY = "=gold"
MAX_MERGE = 32


def _first_keys(answers: Sequence[str | None], correct: Sequence[bool]) -> list[str | None]:
    return [GOLD_KEY if ok else vote_key(a) for a, ok in zip(answers, correct, strict=True)]


def vote_keys_many(
    problems: Sequence[tuple[Sequence[str | None], Sequence[bool]]], *, workers: int, timeout: float
) -> list[list[str | None]]:
    """Vote keys of every problem's samples (answers, correct), equivalents merged."""
    keys = [_first_keys(answers, correct) for answers, correct in problems]
    pairs: list[tuple[str, str]] = []
    owners: list[tuple[int, str, str]] = []  # (problem, later key, earlier key)
    for p, problem_keys in enumerate(keys):
        distinct = list(dict.fromkeys(
            k for k in problem_keys if k not in (None, GOLD_KEY) and number_value(k) is None
        ))[:MAX_MERGE]
        for j, later in enumerate(distinct):
            for earlier in distinct[:j]:
                pairs.append((later, earlier))
                owners.append((p, later, earlier))
    verdicts = equivalent_many(pairs, workers=workers, timeout=timeout) if pairs else []
    merged: list[dict[str, str]] = [{} for _ in problems]
    for (p, later, earlier), (same, _) in zip(owners, verdicts, strict=True):
        # Pairs come in order of the earlier key, so the first match is the earliest class.
        if same and later not in merged[p]:
            merged[p][later] = merged[p].get(earlier, earlier)
    return [[merged[p].get(k, k) if k is not None else None for k in ks] for p, ks in enumerate(keys)]
