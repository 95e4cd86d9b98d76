"""The paper's findings table: verdicts from hand-made metrics, and the report wiring."""

import math

import pytest

from evaluation.findings import (
    PATH_CHECK_VERDICT,
    ablation_table,
    collapse_reason,
    collapsed_roles,
    findings_table,
    is_path_check,
    two_se,
    verdict,
)
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


def rows_of(table: str) -> dict[str, str]:
    return {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}


def test_findings_table_hand_values():
    roles = {"sft": metrics(0.70, 0.67, 0.92), "online_rft": metrics(0.70, 0.68, 0.92),
             "outcome": metrics(0.78, 0.75, 0.93), "outcome_orm": metrics(0.72, 0.70, 0.92),
             "process": metrics(0.79, 0.76, 0.93)}
    rows = rows_of(findings_table(roles))
    # outcome vs online_rft top1: +8.0 points; 2 SE = 2 sqrt((.78 .22 + .7 .3) / 500) = 5.5 points.
    two_se = 200 * math.sqrt((0.78 * 0.22 + 0.70 * 0.30) / 500)
    assert f"| +8.0 | {two_se:.1f} | reproduces |" in rows["GRPO beats Online RFT"]
    assert "maj@8" in rows["RL lifts maj@K"] and rows["RL lifts maj@K"].endswith("| reproduces |")
    assert rows["RL does not lift pass@K"].endswith("| reproduces |")  # +1.0 point is within noise
    assert "iterative RL >= single-pass RL" not in rows  # no iterative model: the claim is left out
    with pytest.raises(ValueError, match="roles: unknown"):
        findings_table({"grpo": metrics(0.5, 0.5, 0.5)})


def test_process_supervision_is_compared_with_orm_rewarded_outcome_supervision():
    """Fig. 5 compares GRPO+PS with GRPO+OS both rewarded by trained reward models, not with the
    rule-rewarded outcome run: process (72%) beats outcome_orm (60%) although outcome (80%) is higher."""
    roles = {"sft": metrics(0.62, 0.60, 0.90), "outcome": metrics(0.80, 0.78, 0.93),
             "outcome_orm": metrics(0.60, 0.58, 0.90), "process": metrics(0.72, 0.70, 0.92)}
    row = rows_of(findings_table(roles))["process supervision >= outcome supervision"]
    assert "| process vs outcome_orm, top1 | 72.0 | 60.0 | +12.0 |" in row and row.endswith("| reproduces |")
    without_orm = rows_of(findings_table({r: m for r, m in roles.items() if r != "outcome_orm"}))
    assert "process supervision >= outcome supervision" not in without_orm  # never falls back to the rule run


def test_collapse_rule_makes_claims_not_testable():
    sft = metrics(0.70, 0.67, 0.92)
    roles = {"sft": sft, "outcome": metrics(0.72, 0.69, 0.92), "outcome_orm": metrics(0.71, 0.68, 0.92),
             "process": metrics(0.20, 0.20, 0.30), "iterative": metrics(0.15, 0.15, 0.25)}
    assert set(collapsed_roles(roles)) == {"process", "iterative"}
    rows = rows_of(findings_table(roles))
    # process is 50 points below SFT, far beyond 2 SE: the comparison says nothing about PS vs OS
    assert rows["process supervision >= outcome supervision"].endswith("| not testable: collapsed (process) |")
    assert rows["iterative RL >= single-pass RL"].endswith("| not testable: collapsed (iterative, process) |")
    assert rows["RL lifts top-1"].endswith("| not resolved (within noise) |")  # outcome did not collapse
    assert "20.0 | 71.0 | -51.0" in rows["process supervision >= outcome supervision"]  # the numbers stay


def test_collapse_rule_edges():
    sft = metrics(0.70, 0.70, 0.92)
    noise = two_se(0.70, 0.64, 500)  # 5.9 points
    just_inside = 0.70 - noise + 0.005
    assert collapse_reason({"sft": sft, "outcome": metrics(just_inside, 0.70, 0.9)}, "outcome") is None
    assert collapse_reason({"sft": sft, "outcome": metrics(0.64, 0.70, 0.9)}, "outcome") is not None
    # maj@K alone collapsing is enough; the reason names the metric
    why = collapse_reason({"sft": sft, "outcome": metrics(0.70, 0.40, 0.9)}, "outcome")
    assert why is not None and why.startswith("maj@8 -30.0 points")
    assert collapse_reason({"sft": sft}, "sft") is None
    assert collapsed_roles({"outcome": metrics(0.0, 0.0, 0.0)}) == {}  # no SFT: nothing to collapse against
    assert collapse_reason({"sft": sft, "outcome": metrics(0.1, 0.1, 0.1, n=0)}, "outcome") is None  # no n: no SE


def test_path_check_judges_no_claim():
    roles = {"sft": metrics(0.05, 0.04, 0.20, n=50), "online_rft": metrics(0.0, 0.0, 0.1, n=50),
             "outcome": metrics(0.30, 0.30, 0.5, n=50), "outcome_orm": metrics(0.02, 0.02, 0.2, n=50),
             "process": metrics(0.04, 0.04, 0.2, n=50), "iterative": metrics(0.04, 0.04, 0.2, n=50)}
    assert is_path_check(roles)
    rows = rows_of(findings_table(roles))
    assert len(rows) == 6
    assert all(row.endswith(f"| {PATH_CHECK_VERDICT} |") for row in rows.values())
    assert PATH_CHECK_VERDICT == "not judged: path check (SFT top-1 below 10%)"
    assert not is_path_check({"sft": metrics(0.10, 0.1, 0.2)})  # 10% itself is judged
    assert not is_path_check({"outcome": metrics(0.01, 0.01, 0.1)})  # no SFT: no path check


def test_ablation_table():
    roles = {"sft": metrics(0.70, 0.67, 0.92), "process": metrics(0.60, 0.58, 0.90),
             "process_prime": metrics(0.72, 0.70, 0.93), "process_min": metrics(0.20, 0.20, 0.40)}
    names = {"process": "grpo-process", "process_prime": "grpo-process-prime", "process_min": "grpo-process-min"}
    table = ablation_table(roles, names)
    lines = table.splitlines()
    assert lines[0] == ("| estimator | model | top1 | maj@8 | top1 vs process | maj@8 vs process | top1 vs sft | "
                        "maj@8 vs sft | status |")
    process, prime, low = lines[2:5]
    assert process.startswith("| process (the paper's formula") and "| grpo-process | 60.0 | 58.0 | — | — |" in process
    assert process.endswith("| collapsed |")  # 10 points below SFT on 500 problems
    se = 100 * two_se(0.72, 0.60, 500)
    assert f"| grpo-process-prime | 72.0 | 70.0 | +12.0 ± {se:.1f} |" in prime
    assert prime.startswith("| process_prime (PRIME-style") and prime.endswith("| ok |")
    assert low.startswith("| process_min (PURE-style") and low.endswith("| collapsed |")
    assert "reproduces" not in table and "Fig." not in table  # no paper verdict for ablations
    assert ablation_table({"sft": roles["sft"], "process": roles["process"]}) == ""
    # without the paper's formula the differences to it are missing, not an error
    alone = ablation_table({"sft": roles["sft"], "process_min": roles["process_min"]})
    assert "| process_min | 20.0 | 20.0 | — | — | -50.0 ± " in alone


def test_report_adds_findings_per_benchmark_and_checks_role_names():
    results = {"base": {"synthetic": metrics(0.6, 0.6, 0.9)}, "rl": {"synthetic": metrics(0.7, 0.7, 0.9)}}
    text = markdown_report(results, "fig7.png", {"sft": "base", "outcome": "rl"})
    assert "### synthetic: the paper's findings" in text and "RL lifts top-1" in text
    assert "the paper's findings" not in markdown_report(results, "fig7.png")
    with pytest.raises(ValueError, match="no metrics for model"):
        markdown_report(results, "fig7.png", {"sft": "nope"})
