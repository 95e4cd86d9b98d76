"""Tests for the fastText classifier wrapper, the sharded ranking cut and the mining rounds, with real fastText."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from data_selection.classifier import clean_text, score, train_classifier
from data_selection.config import DedupConfig, ExecutorConfig, MineConfig, WebConfig
from data_selection.dedup import dedup
from data_selection.mine import MiningResult, mine_rounds, write_collected
from data_selection.pool_stats import KIND_SCHEMA, RoundCounts, truth_metrics
from data_selection.ranking import Cut, collected_locals, read_run, run_path, top_tokens_cut, write_run
from data_selection.shard_arrays import load_array
from data_selection.shards import iter_shards, plan_shards
from data_selection.synthetic_web import generate_web
from inputs.jsonl import read_jsonl, write_jsonl_atomic

WEB = WebConfig(n_domains=20, pages_per_domain=25, math_domain_fraction=0.15, mixed_domain_fraction=0.2,
                near_dup_fraction=0.1, url_dup_fraction=0.05, n_seed_pages=400, n_planted=5, words_per_page=150)
MINE = MineConfig(dim=256, lr=0.1, word_ngrams=3, min_count=3, epoch=3, bucket=20_000,
                  n_positives=400, n_negatives=400, top_tokens=20_000, threads=1)
PLANTED = [("synthetic-test/0:question", "Sam has 4 pens and buys 9 more pens; how many pens does Sam have?")]


@pytest.fixture(scope="module")
def pool_shards(tmp_path_factory) -> tuple[list, list[str]]:
    pool, seeds = generate_web(WEB, 0, PLANTED)
    kept, _ = dedup(pool, DedupConfig(), 0)
    path = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    write_jsonl_atomic(path, kept)
    return plan_shards(path, 50_000), [s["text"] for s in seeds]


@pytest.fixture(scope="module")
def mined(pool_shards, tmp_path_factory) -> tuple[MiningResult, list[dict]]:
    """The rounds over the pool (inline) and the written collection, read back."""
    shards, seeds = pool_shards
    work = tmp_path_factory.mktemp("mine")
    result = mine_rounds(shards, seeds, MINE, 0, ExecutorConfig(), work / "work", None)
    write_collected(result, work / "mined.jsonl", ExecutorConfig())
    return result, list(read_jsonl(work / "mined.jsonl"))


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


def _runs(urls: list[str], tokens: list[int], scores: list[float], bounds: list[int]) -> list[list[tuple]]:
    """Sorted runs of the shards [bounds[k], bounds[k+1]) as the scoring workers write them."""
    runs = []
    for k in range(len(bounds) - 1):
        ids = range(bounds[k], bounds[k + 1])
        runs.append(sorted((-scores[i], urls[i], i, tokens[i], k) for i in ids))
    return runs


def test_top_tokens_cut_ranks_by_score_then_url_and_stops_at_budget() -> None:
    urls = ["u/d", "u/a", "u/c", "u/b"]
    tokens = [10, 20, 30, 40]
    scores = [0.5, 0.9, 0.5, 0.1]
    # Ranking: u/a (0.9), then the tie at 0.5 by URL: u/c < u/d, then u/b.
    assert top_tokens_cut(_runs(urls, tokens, scores, [0, 2, 4]), 60) == Cut((2, 1), 3, 60)
    assert top_tokens_cut(_runs(urls, tokens, scores, [0, 2, 4]), 59) == Cut((1, 1), 2, 50)  # u/d would make 60
    assert top_tokens_cut(_runs(urls, tokens, scores, [0, 4]), 1) == Cut((1,), 1, 20)  # the first page is always taken
    assert top_tokens_cut(_runs(urls, tokens, scores, [0, 1, 2, 3, 4]), 10**6) == Cut((1, 1, 1, 1), 4, 100)


def test_merged_cut_equals_a_global_sort_with_ties() -> None:
    rng = np.random.default_rng(3)
    n = 500
    urls = [f"h{rng.integers(20)}/p{rng.integers(50)}" for _ in range(n)]  # repeated URLs too
    tokens = rng.integers(1, 200, n).tolist()
    scores = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n).tolist()  # many ties
    order = sorted(range(n), key=lambda i: (-scores[i], urls[i], i))
    for budget in (0, 5_000, 20_000, 10**9):
        taken, total = [], 0
        for i in order:
            if taken and total + tokens[i] > budget:
                break
            taken.append(i)
            total += tokens[i]
        bounds = [0, 70, 71, 300, 500]
        cut = top_tokens_cut(_runs(urls, tokens, scores, bounds), budget)
        assert cut.pages == len(taken) and cut.tokens == total
        assert list(cut.counts) == [sum(bounds[k] <= i < bounds[k + 1] for i in taken) for k in range(4)]


def test_run_files_round_trip_in_blocks(tmp_path: Path) -> None:
    scores = np.array([0.5, 0.9, 0.5, 1.0, 0.0])
    urls = ["b", "a", "a", "z", "y"]
    write_run(tmp_path, 1, 0, scores, urls, [1, 2, 3, 4, 5])
    got = list(read_run(run_path(tmp_path, 1, 0), 7, 100, block=2))
    assert got == [(-1.0, "z", 103, 4, 7), (-0.9, "a", 101, 2, 7), (-0.5, "a", 102, 3, 7),
                   (-0.5, "b", 100, 1, 7), (-0.0, "y", 104, 5, 7)]
    assert collected_locals(tmp_path, 1, 0, 3).tolist() == [1, 2, 3]


def test_truth_metrics_by_kind() -> None:
    kinds = pl.DataFrame({"kind": ["qa", "latex"], "pages": [2, 1], "collected": [1, 1]}, schema=KIND_SCHEMA)
    counts = RoundCounts(pages=5, math=3, math_hit=2, kinds=kinds)
    assert truth_metrics(counts, 3) == {
        "recall": 2 / 3, "precision": 2 / 3, "recall_latex": 1.0, "share_latex": 1 / 3,
        "recall_qa": 0.5, "share_qa": 1 / 3,
    }
    assert truth_metrics(RoundCounts(pages=1, no_truth=1), 1) == {}


def test_rounds_report_metrics_and_iteration_helps(mined) -> None:
    result, pages = mined
    rounds = result.rounds.to_dicts()
    assert 2 <= len(rounds) <= MINE.max_rounds
    for r in rounds:
        assert r["tokens"] <= MINE.top_tokens  # the top-N cut holds in every round
        assert {"recall", "precision", "recall_qa", "overlap_prev", "domains_discovered",
                "paths_proposed", "paths_accepted", "seed_added"} <= set(r)
    assert rounds[-1]["pages"] == len(pages) == result.cut.pages  # the last round's collection is the output
    assert rounds[-1]["tokens"] == sum(len(p["text"].split()) for p in pages)
    assert rounds[0]["overlap_prev"] == 0.0 and rounds[0]["seed_added"] > 0
    assert rounds[-1]["recall"] > rounds[0]["recall"]
    assert rounds[-1]["precision"] >= 0.8
    stopped_early = len(rounds) < MINE.max_rounds
    assert stopped_early == (rounds[-1]["overlap_prev"] >= MINE.stop_overlap)
    assert all(r["overlap_prev"] < MINE.stop_overlap for r in rounds[1:-1])


def test_collection_is_written_in_pool_order_with_scores(pool_shards, mined) -> None:
    shards, _ = pool_shards
    result, pages = mined
    assert all(0.0 <= p["score"] <= 1.0 for p in pages)
    pool_urls = [p["url"] for p in iter_shards(shards, Counter())]
    order = {u: i for i, u in enumerate(pool_urls)}
    assert [order[p["url"]] for p in pages] == sorted(order[p["url"]] for p in pages)
    # The collection is the top of the ranking: no uncollected page outscores a collected one.
    all_scores = np.concatenate([load_array(result.pool.workdir, f"score_r{result.last_round}", s)
                                 for s in range(len(shards))])
    assert len(all_scores) == len(pool_urls)
    collected = np.array([u in {p["url"] for p in pages} for u in pool_urls])
    assert 0 < collected.sum() < len(pool_urls)
    assert all_scores[~collected].max() <= all_scores[collected].min()
    assert [p["score"] for p in pages] == all_scores[collected].tolist()


def test_sharded_mining_on_two_workers_equals_inline(pool_shards, mined, tmp_path: Path) -> None:
    shards, seeds = pool_shards
    result, pages = mined
    small = plan_shards(shards[0].path, 17_000)
    assert len(small) > len(shards)
    executor = ExecutorConfig(workers=2)
    again = mine_rounds(small, seeds, MINE, 0, executor, tmp_path / "work", None)
    write_collected(again, tmp_path / "mined.jsonl", executor)
    assert again.rounds.equals(result.rounds) and again.proposals.equals(result.proposals)
    assert list(read_jsonl(tmp_path / "mined.jsonl")) == pages


def test_stop_rule_at_98_percent(pool_shards, tmp_path: Path) -> None:
    shards, seeds = pool_shards
    never = mine_rounds(shards, seeds, replace(MINE, stop_overlap=1.0, max_rounds=3), 0, ExecutorConfig(), tmp_path, None)
    assert len(never.rounds) == 3  # 100% overlap is never required to be exceeded: runs every round
    at_once = mine_rounds(shards, seeds, replace(MINE, stop_overlap=0.0), 0, ExecutorConfig(), tmp_path, None)
    assert len(at_once.rounds) == 2  # round 1 has no previous round; round 2 meets any overlap


def test_manual_annotation_accepts_only_listed_paths(pool_shards, mined, tmp_path: Path) -> None:
    shards, seeds = pool_shards
    first = mined[0].proposals.filter(pl.col("round") == 1).row(0, named=True)
    result = mine_rounds(shards, seeds, replace(MINE, max_rounds=2), 0, ExecutorConfig(), tmp_path, (first["path"],))
    accepted = result.proposals.filter(pl.col("accepted"))["path"].to_list()
    assert set(accepted) <= {first["path"]}
    assert result.rounds["paths_accepted"][0] <= 1


def test_mining_is_deterministic(pool_shards, mined, tmp_path: Path) -> None:
    shards, seeds = pool_shards
    again = mine_rounds(shards, seeds, MINE, 0, ExecutorConfig(), tmp_path, None)
    assert again.rounds.equals(mined[0].rounds) and again.cut == mined[0].cut


def test_mine_rejects_empty_inputs(pool_shards, tmp_path: Path) -> None:
    shards, _ = pool_shards
    with pytest.raises(ValueError, match="^seed_pages: "):
        mine_rounds(shards, [], MINE, 0, ExecutorConfig(), tmp_path, None)
