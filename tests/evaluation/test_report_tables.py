"""The report's tables built as polars frames: rendering and the per-group breakdown join, by hand."""

import polars as pl
import pytest

from evaluation.report import _markdown, breakdown_table, summary_table

RESULTS = {
    "a": {"math": {"n_samples": 4, "top1": 0.5, "maj@4": 0.25, "pass@4": 0.75, "n_problems": 8,
                   "by_level": {"2": {"top1": 0.5, "maj@4": 0.25, "n_problems": 4},
                                "1": {"top1": 1.0, "maj@4": 0.75, "n_problems": 4}}}},
    "b": {"math": {"n_samples": 2, "top1": 0.125, "maj@2": 0.25, "pass@2": 0.5, "n_problems": 10, "top1_strict": 0.1,
                   "by_level": {"3": {"top1": 0.125, "maj@2": 0.0, "n_problems": 8},
                                "1": {"top1": 0.0, "maj@2": 0.5, "n_problems": 2}}}},
    "c": {"gsm8k": {"n_samples": 1, "top1": 0.0, "maj@1": 0.0, "pass@1": 0.0, "n_problems": 3}},
}


def test_breakdown_joins_each_model_onto_the_sorted_groups() -> None:
    # Groups 1, 2, 3 in order; b has no level 2 and a no level 3: empty cells. c has no breakdown.
    assert breakdown_table(RESULTS, "math", "by_level").splitlines() == [
        "| level | a top1 | a maj@n | n | b top1 | b maj@n | n |",
        "|---|---:|---:|---:|---:|---:|---:|",
        "| 1 | 100.0 | 75.0 | 4 | 0.0 | 50.0 | 2 |",
        "| 2 | 50.0 | 25.0 | 4 |  |  |  |",
        "| 3 |  |  |  | 12.5 | 0.0 | 8 |",
    ]


def test_summary_rows_follow_benchmarks_then_models() -> None:
    # a's missing strict top-1 shows as nan, as before the frame; maj@n and pass@n use each n.
    assert summary_table(RESULTS).splitlines()[2:] == [
        "| math | a | 50.0 | nan | 25.0 | 75.0 | 4 | 8 |",
        "| math | b | 12.5 | 10.0 | 25.0 | 50.0 | 2 | 10 |",
        "| gsm8k | c | 0.0 | nan | 0.0 | 0.0 | 1 | 3 |",
    ]


def test_markdown_renders_a_text_frame_and_checks_its_shape() -> None:
    frame = pl.DataFrame({"x": ["1", "2"], "y": ["a", ""]})
    assert _markdown(frame, "rl") == ["| x | y |", "|---:|---|", "| 1 | a |", "| 2 |  |"]
    assert _markdown(frame, "ll", ["n", "n"])[0] == "| n | n |"  # a header may repeat a name
    with pytest.raises(ValueError, match="2 columns"):
        _markdown(frame, "l")
