"""Exact values for pass@k, maj@k, ks_for and summarize."""

import math
import random
from itertools import combinations

import pytest

from evaluation.metrics import ProblemOutcome, ks_for, maj_at_k, pass_at_k, summarize


def test_pass_at_k_hand_value():
    # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7, abs=1e-12)


def test_pass_at_k_edges():
    assert pass_at_k(8, 0, 4) == 0.0
    assert pass_at_k(8, 8, 4) == 1.0
    assert pass_at_k(8, 5, 4) == 1.0  # n - c = 3 < k: every 4-subset has a correct sample
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3, abs=1e-12)


@pytest.mark.parametrize("n,c,k", [(4, 1, 2), (5, 2, 3), (6, 3, 2), (7, 2, 5), (8, 1, 8), (6, 0, 3), (9, 4, 4)])
def test_pass_at_k_matches_brute_force(n, c, k):
    correct = [i < c for i in range(n)]
    subsets = list(combinations(range(n), k))
    brute = sum(any(correct[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


@pytest.mark.parametrize("n,c,k", [(0, 0, 1), (3, 4, 1), (3, 1, 0), (3, 1, 4), (3, -1, 1)])
def test_pass_at_k_rejects_bad_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_maj_at_k_hand_case():
    # 3 samples, answers 5, 5, 7; 5 is right. k=2 subsets: {0,1} -> 5 (right),
    # {0,2} tie 5/7 -> earliest (5, right), {1,2} tie -> earliest (5, right). k=3: 5 wins.
    answers, correct = ["5", "5", "7"], [True, True, False]
    rng = random.Random(0)
    assert maj_at_k(answers, correct, 1, 100, rng) == pytest.approx(2 / 3)
    assert maj_at_k(answers, correct, 2, 100, rng) == 1.0
    assert maj_at_k(answers, correct, 3, 100, rng) == 1.0


def test_maj_at_k_tie_goes_to_earliest_first_occurrence():
    answers, correct = ["7", "5"], [False, True]
    assert maj_at_k(answers, correct, 2, 100, random.Random(0)) == 0.0
    assert maj_at_k(list(reversed(answers)), list(reversed(correct)), 2, 100, random.Random(0)) == 1.0


def test_maj_at_k_groups_equivalent_strings():
    # "1,000" and "1000" are one answer (2 votes) against 999 (1 vote, earlier).
    answers, correct = ["999", "1,000", "1000"], [False, True, True]
    assert maj_at_k(answers, correct, 3, 10, random.Random(0)) == 1.0
    answers, correct = ["7", "6", "6.0"], [False, True, True]
    assert maj_at_k(answers, correct, 3, 10, random.Random(0)) == 1.0


def test_maj_at_k_none_never_wins():
    answers, correct = [None, None, "3"], [False, False, True]
    assert maj_at_k(answers, correct, 3, 10, random.Random(0)) == 1.0
    # All-None subset counts as wrong: subsets of size 2 -> {0,1} wrong, {0,2} and {1,2} right.
    assert maj_at_k(answers, correct, 2, 10, random.Random(0)) == pytest.approx(2 / 3)


def test_maj_at_k_sampled_subsets_are_seeded():
    rng_answers = random.Random(1)
    answers = [str(rng_answers.randint(0, 3)) for _ in range(16)]
    correct = [a == "2" for a in answers]
    a = maj_at_k(answers, correct, 8, 50, random.Random(42))  # C(16,8)=12870 > 50: sampled
    b = maj_at_k(answers, correct, 8, 50, random.Random(42))
    assert a == b
    assert 0.0 <= a <= 1.0


def test_ks_for():
    assert ks_for(1) == [1]
    assert ks_for(8) == [1, 2, 4, 8]
    assert ks_for(6) == [1, 2, 4, 6]
    assert ks_for(64) == [1, 2, 4, 8, 16, 32, 64]


def test_summarize_hand_values():
    outcomes = [
        ProblemOutcome("a", True, ("5", "5", "7", None), (True, True, False, False)),
        ProblemOutcome("b", False, ("1", "2", "2", "2"), (True, False, False, False)),
    ]
    m = summarize(outcomes, maj_subsets=100, seed=0)
    assert m["n_problems"] == 2 and m["n_samples"] == 4
    assert m["top1"] == 0.5
    assert m["sample_acc"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["pass@1"] == pytest.approx(m["sample_acc"])
    assert m["maj@1"] == pytest.approx(m["sample_acc"])
    assert m["pass@4"] == 1.0
    assert m["maj@4"] == pytest.approx(0.5)  # a: 5 wins; b: 2 wins (wrong)
    expected_pass2 = ((1 - math.comb(2, 2) / math.comb(4, 2)) + (1 - math.comb(3, 2) / math.comb(4, 2))) / 2
    assert m["pass@2"] == pytest.approx(expected_pass2)
    assert set(m) == {"n_problems", "n_samples", "top1", "sample_acc"} | {
        f"{kind}@{k}" for kind in ("pass", "maj") for k in (1, 2, 4)
    }
