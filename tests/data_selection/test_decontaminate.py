"""Tests for benchmark decontamination: the rule on hand-computed small cases, and its counts."""

from __future__ import annotations

import copy

import pytest

from data_selection.benchmark_items import BenchmarkItem
from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import (
    aligned_share,
    build_index,
    counted_positions,
    decontaminate,
    find_hits,
    problem_pages,
    tokenize_for_match,
)

DEFAULT = DecontaminateConfig()  # min_coverage 0.9, boilerplate_df 3, answers not matched
PAPER = DecontaminateConfig.paper()
LONG_Q = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"  # 12 tokens
SOLUTION = [f"s{i}" for i in range(30)]  # 30 tokens
SHORT_Q = r"Compute $\dbinom{8}{4}$."  # compute dbinom 8 4: 4 tokens, matched whole
HALF = r"\frac{1}{2}"  # frac 1 2: a 3-token final answer
FILLER = "the council met on monday to discuss the budget"


def _items() -> list[BenchmarkItem]:
    return [
        BenchmarkItem("bench", "1", "question", LONG_Q),
        BenchmarkItem("bench", "1", "solution", " ".join(SOLUTION)),
        BenchmarkItem("bench", "1", "answer", HALF),
        BenchmarkItem("bench", "2", "question", SHORT_Q),
        BenchmarkItem("bench", "2", "solution", "Seventy."),  # 1 token: too short to match
        BenchmarkItem("bench", "2", "answer", "70"),
    ]


def _hit_ids(text: str, cfg: DecontaminateConfig = DEFAULT) -> list[tuple[str, str, float]]:
    index = build_index(_items(), cfg)
    return [(h.item.id, h.rule, round(h.coverage, 4)) for h in find_hits(text, index, cfg)]


def test_tokenize_lowercases_and_splits_on_non_alphanumerics() -> None:
    assert tokenize_for_match("What is 3+4? Answer: $x^2$,  ok") == ["what", "is", "3", "4", "answer", "x", "2", "ok"]
    assert tokenize_for_match(r"\frac{1}{2}") == ["frac", "1", "2"]
    assert tokenize_for_match(" --- ") == []


def test_aligned_share_tolerates_a_rewritten_word() -> None:
    item = "a b c d e f g h i j k l".split()
    page = "x y a b c d e f g h i Z k l x".split()  # the item at offset 2 with "j" rewritten
    everything = [True] * 12
    # Runs at offset 2: a..i (9 tokens) counts; "k l" (2 < 3) is chance agreement.
    assert aligned_share(item, page, {2}, everything, min_run=3) == pytest.approx(9 / 12)
    assert aligned_share(item, page, {2}, everything, min_run=2) == pytest.approx(11 / 12)
    assert aligned_share(item, page, {5}, everything, min_run=3) == 0.0  # nothing lines up there
    assert aligned_share(item, page, {2}, [False] * 12, min_run=3) == 0.0  # nothing counted


def test_aligned_share_follows_an_insertion_through_a_second_offset() -> None:
    item = [f"t{i}" for i in range(24)]
    page = item[:12] + ["inserted"] + item[12:]
    assert aligned_share(item, page, {0}, [True] * 24, min_run=3) == pytest.approx(12 / 24)
    assert aligned_share(item, page, {0, 1}, [True] * 24, min_run=3) == 1.0


def test_counted_positions_leave_out_tokens_only_ignored_windows_cover() -> None:
    # 3 windows of 10 over 12 tokens; window 0 (id 7) ignored: token 0 is covered by nothing else.
    assert counted_positions([7, 8, 9], 10, {7}) == [False] + [True] * 11
    assert counted_positions([7, 8, 9], 10) == [True] * 12


def test_index_counts_items_by_treatment() -> None:
    index = build_index(_items(), DEFAULT)
    assert index.counts["bench"] == {"items": 6, "items_ngram": 2, "items_short_exact": 1,
                                     "items_too_short": 1, "items_answer_not_matched": 2}
    assert index.records == {"bench": {"1", "2"}}
    assert len(index.windows) == 3 + 21  # 12 - 10 + 1 question windows, 30 - 10 + 1 solution windows
    paper = build_index(_items(), PAPER)
    assert paper.counts["bench"] == {"items": 6, "items_ngram": 2, "items_short_exact": 2, "items_too_short": 2}


def test_a_common_short_answer_does_not_remove_a_page_unless_the_paper_rule_is_chosen() -> None:
    page = r"so the probability is \frac{1}{2} in the end"
    assert _hit_ids(page) == []
    assert _hit_ids(page, PAPER) == [("bench|1:answer", "short", 1.0)]


def test_a_short_question_copied_verbatim_removes_the_page() -> None:
    page = rf"Homework help: {SHORT_Q} Thanks!"
    assert _hit_ids(page) == [("bench|2:question", "short", 1.0)]
    assert _hit_ids("Compute dbinom 8 and 4") == []  # not a contiguous run


def test_a_long_solution_is_caught_whole_or_with_one_word_rewritten_but_not_by_one_10_gram() -> None:
    whole = f"{FILLER} {' '.join(SOLUTION)} {FILLER}"
    assert _hit_ids(whole) == [("bench|1:solution", "ngram", 1.0)]
    edited = SOLUTION[:25] + ["link"] + SOLUTION[26:]
    # 29 of 30 tokens in place; the shared windows alone cover only tokens 0..24 (25 / 30).
    assert _hit_ids(f"{FILLER} {' '.join(edited)}") == [("bench|1:solution", "ngram", round(29 / 30, 4))]
    ten = f"{FILLER} {' '.join(SOLUTION[5:15])} {FILLER}"
    assert _hit_ids(ten) == []  # 10 of 30 tokens: below min_coverage 0.9
    assert _hit_ids(ten, PAPER) == [("bench|1:solution", "ngram", round(10 / 30, 4))]
    assert _hit_ids(" ".join(SOLUTION[5:14]), PAPER) == []  # a 9-gram is no match


def test_the_long_question_matches_across_case_and_punctuation() -> None:
    page = "Problem: Alpha, BRAVO charlie delta echo foxtrot golf hotel india juliet kilo lima!"
    assert _hit_ids(page) == [("bench|1:question", "ngram", 1.0)]


def _boilerplate_items() -> list[BenchmarkItem]:
    preamble = [f"p{j}" for j in range(12)]  # its 3 inner windows recur in all three texts
    return [BenchmarkItem("b", str(i), "question", " ".join(preamble + [f"q{i}x{j}" for j in range(12)]))
            for i in range(3)]


def test_boilerplate_windows_neither_make_candidates_nor_count() -> None:
    items = _boilerplate_items()
    preamble, rest = items[0].text.split()[:12], items[0].text.split()[12:]
    cfg0 = DecontaminateConfig(min_coverage=0.0)
    index = build_index(items, cfg0)
    assert len(index.boilerplate) == 3 and index.all_boilerplate == set()
    only_preamble = " ".join(preamble + ["other", "words", "entirely"])
    assert find_hits(only_preamble, index, cfg0) == []
    paper = build_index(items, PAPER)
    assert [h.item.id for h in find_hits(only_preamble, paper, PAPER)] == ["b|0:question", "b|1:question", "b|2:question"]
    # Item positions 0..19 reproduced. Counted: tokens 3..23 (windows 3..14), so 17 of 21;
    # without boilerplate all 24 count, so 20 of 24, and the preamble alone makes the two other
    # texts candidates at 12 of 24.
    partial = " ".join(preamble + rest[:8] + ["other"])
    assert [round(h.coverage, 4) for h in find_hits(partial, index, cfg0)] == [round(17 / 21, 4)]
    off = DecontaminateConfig(min_coverage=0.0, boilerplate_df=0)
    assert [round(h.coverage, 4) for h in find_hits(partial, build_index(items, off), off)] == [round(20 / 24, 4), 0.5, 0.5]
    assert [h.coverage for h in find_hits(items[1].text, index, DEFAULT)] == [1.0]  # a whole quote


def _page(url: str, text: str, benchmark_id: str | None = None, source: str | None = None) -> dict:
    page = {"url": url, "text": text, "is_math": True, "benchmark_id": benchmark_id}
    return page | {"source": source} if source else page


def test_decontaminate_counts_per_benchmark_and_per_page_source() -> None:
    shared_q = "the quick brown fox jumps over the lazy dog twice and then sleeps"  # in both benchmarks
    items = [BenchmarkItem("alpha", "a1", "question", shared_q),
             BenchmarkItem("beta", "b1", "question", shared_q),  # like MATH-500 inside MATH
             BenchmarkItem("beta", "b2", "question", LONG_Q),
             BenchmarkItem("beta", "b2", "answer", HALF)]
    pages = [
        _page("https://c.example/1", f"{FILLER} {shared_q}", benchmark_id="alpha|a1", source="crawl-1.warc.gz"),
        _page("https://s.example/2", f"{LONG_Q} {FILLER}", benchmark_id="beta|b2"),  # no source: synthetic
        _page("https://c.example/3", rf"{FILLER} \frac{{1}}{{2}}", source="crawl-1.warc.gz"),
        _page("https://s.example/4", f"paraphrased: alpha bravo charlie {FILLER}", benchmark_id="beta|b2"),
    ]
    original = copy.deepcopy(pages)
    kept, removed, stats = decontaminate(pages, items, DEFAULT)
    assert [p["url"] for p in kept] == ["https://c.example/3", "https://s.example/4"]
    assert removed == [
        {"url": "https://c.example/1", "source": "crawl-1.warc.gz", "benchmark_id_hit": "alpha|a1:question",
         "field": "question", "rule": "ngram", "coverage": 1.0, "benchmarks": ["alpha", "beta"]},
        {"url": "https://s.example/2", "source": "synthetic", "benchmark_id_hit": "beta|b2:question",
         "field": "question", "rule": "ngram", "coverage": 1.0, "benchmarks": ["beta"]},
    ]
    assert stats == {
        "input": 4, "kept": 2, "removed": 2,
        "rule": {"ngram": 10, "min_ngram": 3, "min_coverage": 0.9, "boilerplate_df": 3, "match_answers": False},
        "benchmark_records": {"alpha": 1, "beta": 2},
        "benchmark_items": {"alpha": {"items": 1, "items_ngram": 1},
                            "beta": {"items": 3, "items_answer_not_matched": 1, "items_ngram": 2}},
        "boilerplate_windows": 0,  # the shared question is one distinct text
        "removed_by_benchmark": {"alpha": 1, "beta": 2},
        "removed_by_rule": {"ngram": 2}, "removed_by_field": {"question": 2},
        "input_by_page_source": {"crawl-1.warc.gz": 2, "synthetic": 2},
        "removed_by_page_source": {"crawl-1.warc.gz": 1, "synthetic": 1},
        "planted_in_input": 3, "planted_removed": 2, "planted_recall": pytest.approx(2 / 3),
        "removed_unplanted": 0, "planted_items_in_input": 2, "planted_items_caught": 2,
        "clean_math_in_input": 1, "clean_math_removed": 0, "clean_math_removed_rate": 0.0,
    }
    assert pages == original  # inputs untouched; kept pages are copies


def test_training_problems_as_pages() -> None:
    problems = [
        {"id": "gsm8k/0", "question": "Ann has 3 apples.", "solution": "3\n#### 3", "answer": "3", "source": "gsm8k"},
        {"id": "train/algebra/1.json", "question": LONG_Q, "solution": r"It is $\boxed{5}$.", "answer": "5",
         "source": "math"},
    ]
    pages = problem_pages(problems)
    assert pages[0] == {"url": "gsm8k/0", "text": "Ann has 3 apples.\n3\n#### 3", "source": "gsm8k"}
    kept, removed, stats = decontaminate(pages, [BenchmarkItem("math", "t1", "question", LONG_Q)], DEFAULT)
    assert [p["url"] for p in kept] == ["gsm8k/0"]
    assert stats["removed_by_page_source"] == {"math": 1}
    assert stats["input_by_page_source"] == {"gsm8k": 1, "math": 1}
    assert stats["removed_by_benchmark"] == {"math": 1}


@pytest.mark.parametrize(
    "kwargs, field",
    [({"min_coverage": 1.5}, "min_coverage"), ({"boilerplate_df": 1}, "boilerplate_df"),
     ({"match_answers": "no"}, "match_answers"), ({"hub_benchmarks": ("openai/gsm8k:main:test",)}, "hub_benchmarks")],
)
def test_config_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        DecontaminateConfig(**kwargs)


def test_config_accepts_hub_specs_and_has_the_paper_rule() -> None:
    assert DecontaminateConfig(hub_benchmarks=("hf:openai/gsm8k:main@test", "hf:HuggingFaceH4/MATH-500@test"))
    rule = (PAPER.ngram, PAPER.min_ngram, PAPER.min_coverage, PAPER.boilerplate_df, PAPER.match_answers)
    assert rule == (10, 3, 0.0, 0, True)
