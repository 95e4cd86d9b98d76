"""metrics/mine.json from the rounds table (a polars frame), on a hand-made two-round table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data_selection.mine_report import plot_rounds, summary

ROUNDS = pl.DataFrame([
    {"round": 1, "pages": 10, "tokens": 100, "overlap_prev": 0.0, "recall": 0.5, "precision": 0.8, "recall_qa": 0.25},
    {"round": 2, "pages": 12, "tokens": 98, "overlap_prev": 0.75, "recall": 0.9, "precision": 0.85, "recall_qa": 1.0},
])


def test_summary_puts_the_final_round_on_top_and_nests_every_round() -> None:
    assert summary(ROUNDS) == {
        "rounds_run": 2,
        "final_pages": 12, "final_tokens": 98, "final_overlap_prev": 0.75, "final_recall": 0.9,
        "final_precision": 0.85, "final_recall_qa": 1.0,
        "round1_recall": 0.5, "round1_precision": 0.8,
        "by_round": {
            "1": {"pages": 10, "tokens": 100, "overlap_prev": 0.0, "recall": 0.5, "precision": 0.8, "recall_qa": 0.25},
            "2": {"pages": 12, "tokens": 98, "overlap_prev": 0.75, "recall": 0.9, "precision": 0.85, "recall_qa": 1.0},
        },
    }
    assert ROUNDS["round"].to_list() == [1, 2]  # summary does not change the table


def test_summary_without_ground_truth_and_empty() -> None:
    plain = ROUNDS.select("round", "pages", "tokens", "overlap_prev")
    out = summary(plain)
    assert "round1_recall" not in out and out["final_pages"] == 12 and out["by_round"]["1"]["tokens"] == 100
    with pytest.raises(ValueError, match="rounds"):
        summary(plain.clear())


def test_plot_is_written(tmp_path: Path) -> None:
    plot_rounds(ROUNDS, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
