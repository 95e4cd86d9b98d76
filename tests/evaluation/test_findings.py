"""The paper's findings table: verdicts from hand-made metrics, and the report wiring."""

import math

import pytest

from evaluation.findings import findings_table, verdict
from evaluation.report import markdown_report


def metrics(top1: float, maj: float, pas: float, n: int = 500) -> dict:
    return {"top1": top1, "maj@8": maj, "pass@8": pas, "maj@1": top1, "pass@1": top1, "n_problems": n, "n_samples": 8}


def test_verdicts_follow_two_standard_errors():
    assert verdict("greater", 0.05, 0.04) == "reproduces"
    assert verdict("greater", 0.03, 0.04) == "not resolved (within noise)"
    assert verdict("greater", -0.05, 0.04) == "does not reproduce"
    assert verdict("at_least", -0.03, 0.04) == "consistent (within noise)"
    assert verdict("at_least", -0.05, 0.04) == "does not reproduce"
    assert verdict("not_greater", 0.03, 0.04) == "reproduces"
    assert verdict("not_greater", 0.05, 0.04) == "does not reproduce"
    with pytest.raises(ValueError, match="kind"):
        verdict("less", 0.0, 1.0)


def test_findings_table_hand_values():
    roles = {"sft": metrics(0.70, 0.67, 0.92), "online_rft": metrics(0.70, 0.68, 0.92),
             "outcome": metrics(0.78, 0.75, 0.93), "process": metrics(0.20, 0.20, 0.30)}
    table = findings_table(roles)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}
    # outcome vs online_rft top1: +8.0 points; 2 SE = 2 sqrt((.78 .22 + .7 .3) / 500) = 5.5 points.
    two_se = 200 * math.sqrt((0.78 * 0.22 + 0.70 * 0.30) / 500)
    assert f"| +8.0 | {two_se:.1f} | reproduces |" in rows["GRPO beats Online RFT"]
    assert rows["process supervision >= outcome supervision"].endswith("| does not reproduce |")
    assert "maj@8" in rows["RL lifts maj@K"] and rows["RL lifts maj@K"].endswith("| reproduces |")
    assert rows["RL does not lift pass@K"].endswith("| reproduces |")  # +1.0 point is within noise
    assert "iterative RL >= single-pass RL" not in rows  # no iterative model: the claim is left out
    with pytest.raises(ValueError, match="roles: unknown"):
        findings_table({"grpo": metrics(0.5, 0.5, 0.5)})


def test_report_adds_findings_per_benchmark_and_checks_role_names():
    results = {"base": {"synthetic": metrics(0.6, 0.6, 0.9)}, "rl": {"synthetic": metrics(0.7, 0.7, 0.9)}}
    text = markdown_report(results, "fig7.png", {"sft": "base", "outcome": "rl"})
    assert "### synthetic: the paper's findings" in text and "RL lifts top-1" in text
    assert "the paper's findings" not in markdown_report(results, "fig7.png")
    with pytest.raises(ValueError, match="no metrics for model"):
        markdown_report(results, "fig7.png", {"sft": "nope"})
