"""Vote keys group mathematically equivalent answers; maj@k over them, with ties, by hand."""

import random

import pytest

from evaluation.metrics import maj_at_k
from evaluation.voting import GOLD_KEY, vote_keys_many


def keys(answers, correct):
    return vote_keys_many([(answers, correct)], workers=2, timeout=5.0)[0]


def test_equivalent_spellings_of_one_half_share_a_key():
    # Wrong answers (gold is 3): "1/2", "0.5" and "\\frac{1}{2}" are one answer with 3 votes.
    ks = keys(["1/2", "3", "0.5", "\\frac{1}{2}", "3"], [False, True, False, False, True])
    assert ks[0] == ks[2] == ks[3] != ks[1]
    assert ks[1] == ks[4] == GOLD_KEY
    correct = [False, True, False, False, True]
    assert maj_at_k(ks, correct, 5, 10, random.Random(0)) == 0.0  # 3 votes for 1/2 beat 2 for 3


def test_symbolic_equivalents_are_merged_by_math_verify():
    ks = keys(["\\frac{\\sqrt{2}}{2}", "x", "\\frac{1}{\\sqrt{2}}", None], [False, False, False, False])
    assert ks[0] == ks[2] != ks[1] and ks[3] is None


def test_maj_at_k_hand_case_with_equivalent_correct_strings_and_a_tie():
    # Gold 1/2. Samples: "0.5" (right), "7" (wrong), "\\frac{1}{2}" (right), "7" (wrong).
    answers, correct = ["0.5", "7", "\\frac{1}{2}", "7"], [True, False, True, False]
    ks = keys(answers, correct)
    assert ks == [GOLD_KEY, "7", GOLD_KEY, "7"]
    # k=4: a 2-2 tie, broken by the earliest first occurrence (sample 0, right) -> 1.
    assert maj_at_k(ks, correct, 4, 100, random.Random(0)) == 1.0
    # k=2 over all 6 pairs: {0,2} right; {1,3} wrong; mixed pairs are ties won by the earlier:
    # {0,1} right, {0,3} right, {1,2} wrong, {2,3} right -> 4/6.
    assert maj_at_k(ks, correct, 2, 100, random.Random(0)) == pytest.approx(4 / 6)
    # Reversed order: the tie at k=4 now goes to "7" (first at index 0) -> 0.
    assert maj_at_k(ks[::-1], correct[::-1], 4, 100, random.Random(0)) == 0.0
