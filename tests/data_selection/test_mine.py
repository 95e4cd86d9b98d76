"""Tests for the fastText classifier wrapper and one mining round, with real fastText."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from data_selection.classifier import clean_text, score, train_classifier
from data_selection.config import DedupConfig, MineConfig, WebConfig
from data_selection.dedup import dedup
from data_selection.mine import mine
from data_selection.synthetic_web import generate_web

WEB = WebConfig(n_domains=20, pages_per_domain=25, math_domain_fraction=0.15, mixed_domain_fraction=0.2,
                near_dup_fraction=0.1, url_dup_fraction=0.05, n_seed_pages=400, n_planted=5, words_per_page=150)
MINE = MineConfig(dim=256, lr=0.1, word_ngrams=3, min_count=3, epoch=3, bucket=20_000,
                  n_positives=400, n_negatives=400, top_n=100, threads=1)
PLANTED = [("synthetic-test/0:question", "Sam has 4 pens and buys 9 more pens; how many pens does Sam have?")]


@pytest.fixture(scope="module")
def small_web() -> tuple[list[dict], list[dict]]:
    pool, seeds = generate_web(WEB, 0, PLANTED)
    kept, _ = dedup(pool, DedupConfig(), 0)
    return kept, seeds


@pytest.fixture(scope="module")
def mined(small_web, tmp_path_factory) -> tuple[list[dict], dict]:
    pool, seeds = small_web
    return mine(pool, seeds, MINE, 0, tmp_path_factory.mktemp("mine"))


def test_clean_text_is_one_lowercased_line() -> None:
    assert clean_text("Line ONE\n\tline  two\r\n") == "line one line two"


def test_classifier_scores_are_probabilities(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    math_words = "theorem proof integral equation lemma derivative matrix prime".split()
    other_words = "football match score goal team stadium recipe flour".split()
    pos = [" ".join(rng.choice(math_words, 8)) for _ in range(100)]
    neg = [" ".join(rng.choice(other_words, 8)) for _ in range(100)]
    model = train_classifier(pos, neg, MineConfig(epoch=20, bucket=1000, min_count=1), 0, tmp_path)
    probs = score(model, ["the lemma and the integral\nproof", "a goal in the stadium", ""])
    assert probs.shape == (3,) and probs.dtype == np.float64
    assert np.all((probs >= 0) & (probs <= 1))
    assert probs[0] > 0.5 > probs[1]
    assert list(tmp_path.iterdir()) == []  # the training file is removed
    with pytest.raises(ValueError, match="^positives/negatives: "):
        train_classifier([], neg, MINE, 0, tmp_path)


def test_training_ignores_leftover_heap_contents(tmp_path: Path) -> None:
    # fasttext-numpy2 leaves most of the input matrix uninitialised with thread=1; without the
    # zero-fill workaround a dirtied heap changes the model or makes it NaN.
    rng = np.random.default_rng(1)
    words = "theorem proof goal team flour lemma prime score".split()
    pos = [" ".join(rng.choice(words[:5], 8)) for _ in range(60)]
    neg = [" ".join(rng.choice(words[3:], 8)) for _ in range(60)]
    cfg = MineConfig(dim=16, epoch=5, bucket=1000, min_count=1)
    probe = ["proof lemma", "team score flour", "prime goal"]
    reference = score(train_classifier(pos, neg, cfg, 0, tmp_path), probe)
    for size in range(1, 9):
        junk = [bytearray(rng.integers(0, 256, size=size * 400_000, dtype=np.uint8).tobytes()) for _ in range(3)]
        del junk  # freed chunks full of random bytes are what the next allocation reuses
        again = score(train_classifier(pos, neg, cfg, 0, tmp_path), probe)
        np.testing.assert_array_equal(again, reference)


def test_mine_keeps_top_n_ranked_with_precision(mined, small_web) -> None:
    kept, metrics = mined
    pool, _ = small_web
    assert len(kept) == 100 == metrics["n_kept"]
    scores = [p["score"] for p in kept]
    assert scores == sorted(scores, reverse=True)
    assert metrics["score_threshold"] == scores[-1]
    assert metrics["precision"] == sum(p["is_math"] for p in kept) / 100
    assert metrics["precision"] >= 0.8
    assert metrics["recall"] == pytest.approx(sum(p["is_math"] for p in kept) / metrics["n_pool_math"])
    assert metrics["mean_score_math"] > metrics["mean_score_other"]
    assert {"recall_latex", "recall_notes", "recall_qa", "recall_word_problem"} <= set(metrics)
    assert (metrics["n_pool"], metrics["n_positives"], metrics["n_negatives"]) == (len(pool), 400, 400)
    assert all(set(p) - {"score"} == set(pool[0]) for p in kept)


def test_mine_is_deterministic_and_pure(mined, small_web, tmp_path: Path) -> None:
    pool, seeds = small_web
    before = copy.deepcopy(pool)
    again = mine(pool, seeds, MINE, 0, tmp_path)
    assert again == mined
    assert pool == before
    assert list(tmp_path.iterdir()) == []


def test_mine_rejects_empty_inputs(small_web, tmp_path: Path) -> None:
    pool, seeds = small_web
    with pytest.raises(ValueError, match="^pool: "):
        mine([], seeds, MINE, 0, tmp_path)
    with pytest.raises(ValueError, match="^seed_pages: "):
        mine(pool, [], MINE, 0, tmp_path)
