"""evaluation.spread: the seed-spread summary of scripts/seed_spread.py, against hand-computed values."""

import math

import pytest

from evaluation.spread import headline_keys, markdown, spread


def test_spread_is_mean_sample_sd_and_range():
    s = spread([0.80, 0.90, 0.85])
    assert s.n == 3
    assert s.mean == pytest.approx(0.85)
    # deviations -0.05, +0.05, 0 -> (0.0025 + 0.0025) / (3 - 1) = 0.0025 -> sd 0.05
    assert s.sd == pytest.approx(0.05)
    assert (s.lo, s.hi) == (0.80, 0.90)


def test_spread_of_one_value_has_no_sd_and_of_none_is_an_error():
    assert math.isnan(spread([0.5]).sd)
    with pytest.raises(ValueError, match="no values"):
        spread([])


def test_headline_keys_take_the_largest_k():
    m = {"top1": 0.8, "pass@1": 0.7, "pass@2": 0.8, "pass@8": 0.9, "maj@8": 0.8, "maj@2": 0.7, "sample_acc": 0.7}
    assert headline_keys(m) == ["top1", "maj@8", "pass@8", "sample_acc"]
    with pytest.raises(ValueError, match="pass@K"):
        headline_keys({"top1": 0.8})


def test_markdown_rows_and_noise():
    sft = {"top1": 0.84, "maj@8": 0.80, "pass@8": 0.96, "sample_acc": 0.75, "pass@1": 0.75, "n_problems": 500}
    runs = {0: {"top1": 0.88, "maj@8": 0.85, "pass@8": 0.96, "sample_acc": 0.78},
            1: {"top1": 0.86, "maj@8": 0.83, "pass@8": 0.95, "sample_acc": 0.77}}
    md = markdown("grpo_outcome", runs, sft, reference_seed=0)
    lines = md.splitlines()
    assert lines[0] == "### grpo_outcome"
    assert "| 0 (reference) | 88.0 | 85.0 | 96.0 | 78.0 |" in lines
    assert "| 1 | 86.0 | 83.0 | 95.0 | 77.0 |" in lines
    # top1: mean 0.87, sd sqrt((0.01^2 + 0.01^2) / 1) = 0.01414 -> "87.0 ± 1.4"; gain +3.0
    assert next(row for row in lines if row.startswith("| mean ± sd")).split(" | ")[1] == "87.0 ± 1.4"
    assert next(row for row in lines if row.startswith("| mean - SFT")).split(" | ")[1] == "+3.0"
    # 2 * sqrt((0.87 * 0.13 + 0.84 * 0.16) / 500) = 2 * sqrt(0.2475 / 500) = 0.04450
    assert next(row for row in lines if row.startswith("| 2 SE")).split(" | ")[1] == "4.4"
