"""Tests for 10-gram / short-exact benchmark decontamination."""

from __future__ import annotations

import copy

from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import build_index, decontaminate, find_contamination, tokenize_for_match

CFG = DecontaminateConfig(ngram=10, min_ngram=3)
LONG = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"  # 12 tokens
SHORT = "one two three four five"  # 5 tokens: matched only as a whole
TINY = "seven eight"  # 2 tokens: too short, skipped
ITEMS = [("bench/1:question", LONG), ("bench/2:answer", SHORT), ("bench/3:answer", TINY)]


def _page(url: str, text: str, benchmark_id: str | None = None) -> dict:
    return {"url": url, "domain": "d.com", "text": text, "is_math": True, "kind": "qa",
            "dup_cluster": None, "benchmark_id": benchmark_id}


def test_tokenize_lowercases_and_splits_on_non_alphanumerics() -> None:
    assert tokenize_for_match("What is 3+4? Answer: $x^2$,  ok") == ["what", "is", "3", "4", "answer", "x", "2", "ok"]
    assert tokenize_for_match(" --- ") == []


def test_index_sizes() -> None:
    index = build_index(ITEMS, CFG)
    assert len(index.long) == 3  # 12 - 10 + 1 windows
    assert index.short == {5: {("one", "two", "three", "four", "five"): "bench/2:answer"}}
    assert (index.n_items, index.n_long_items, index.n_short_items, index.n_skipped_items) == (3, 1, 1, 1)


def test_exact_10gram_hits_and_9gram_does_not() -> None:
    index = build_index(ITEMS, CFG)
    ten = "some intro words Bravo, CHARLIE delta echo foxtrot golf hotel india juliet kilo! trailing"
    nine = "some intro words bravo charlie delta echo foxtrot golf hotel india juliet trailing"
    assert find_contamination(ten, index) == "bench/1:question"
    assert find_contamination(nine, index) is None


def test_short_text_matches_only_as_a_whole_token_run() -> None:
    index = build_index(ITEMS, CFG)
    assert find_contamination("count: one, two, three, four, five, six", index) == "bench/2:answer"
    assert find_contamination("one two three four and five", index) is None
    assert find_contamination("xone two three four five", index) is None  # token boundaries matter
    assert find_contamination("seven eight nine", index) is None  # 2-token item was skipped


def test_decontaminate_removes_and_reports() -> None:
    pages = [
        _page("https://d.com/1", f"Problem : {LONG} thanks", benchmark_id="bench/1:question"),
        _page("https://d.com/2", "unrelated text about five four three two one"),
        _page("https://d.com/3", "we count one two three four five here"),
        _page("https://d.com/4", "planted but paraphrased alpha bravo charlie", benchmark_id="bench/1:question"),
    ]
    original = copy.deepcopy(pages)
    kept, removed, stats = decontaminate(pages, ITEMS, CFG)
    assert [p["url"] for p in kept] == ["https://d.com/2", "https://d.com/4"]
    assert removed == [
        {"url": "https://d.com/1", "benchmark_id_hit": "bench/1:question"},
        {"url": "https://d.com/3", "benchmark_id_hit": "bench/2:answer"},
    ]
    assert stats == {
        "input": 4, "kept": 2, "removed": 2, "benchmark_items": 3, "benchmark_items_ngram": 1,
        "benchmark_items_short_exact": 1, "benchmark_items_too_short": 1, "planted_in_input": 2,
        "planted_removed": 1, "planted_recall": 0.5, "removed_unplanted": 1,
        "removed_by_benchmark": {"benchmark": 2}, "planted_items_in_input": 1, "planted_items_caught": 1,
        "clean_math_in_input": 2, "clean_math_removed": 1, "clean_math_removed_rate": 0.5,
    }
    assert pages == original
