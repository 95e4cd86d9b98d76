"""The report's sections beyond the per-benchmark tables: the paper's 2x2, path-check labels,
ablations, reward-model quality, RL runs, the sweep note, and the `report` stage's CLI."""

import json
from pathlib import Path

from evaluation.report import markdown_report, paper_2x2, rl_runs_table, rm_quality_table
from pipeline import report as report_stage


def metrics(top1: float, maj: float, n: int = 500) -> dict:
    return {"top1": top1, "top1_strict": top1, "maj@1": top1, "maj@8": maj, "pass@1": top1, "pass@8": min(1.0, maj + 0.1),
            "sample_acc": top1, "n_problems": n, "n_samples": 8}


ROLES = {"sft": "sft", "online_rft": "grpo-online-rft", "outcome": "grpo-outcome", "outcome_orm": "grpo-outcome-orm",
         "process": "grpo-process", "iterative": "grpo-iterative", "process_prime": "grpo-process-prime",
         "process_min": "grpo-process-min"}
SYNTHETIC = {"sft": metrics(0.70, 0.68), "grpo-online-rft": metrics(0.72, 0.70), "grpo-outcome": metrics(0.78, 0.75),
             "grpo-outcome-orm": metrics(0.71, 0.70), "grpo-process": metrics(0.30, 0.31),
             "grpo-iterative": metrics(0.69, 0.69), "grpo-process-prime": metrics(0.73, 0.71),
             "grpo-process-min": metrics(0.20, 0.22)}
GSM8K = {name: metrics(0.05 if name == "sft" else 0.02, 0.03, n=50) for name in SYNTHETIC}
RESULTS = {name: {"synthetic": SYNTHETIC[name], "gsm8k": GSM8K[name]} for name in SYNTHETIC}

RM = {
    "orm": {"heldout_auc": 0.90756, "heldout_accuracy": 0.81579, "heldout_best_of_n": 0.625, "heldout_random_of_n": 0.5,
            "heldout_oracle_of_n": 0.875, "heldout_questions": 40, "best_of_n_size": 8},
    "prm": {"heldout_auc_within_question": 0.55, "heldout_auc": 0.8843, "heldout_accuracy": 0.82667, "heldout_best_of_n": 0.65, "heldout_best_of_n_last": 0.6,
            "heldout_random_of_n": 0.5, "heldout_oracle_of_n": 0.875, "heldout_questions": 40, "best_of_n_size": 8},
    "old": {"heldout_auc": 0.7, "heldout_accuracy": None},  # an older metrics file: most keys missing, one null
}
RUNS = {
    "grpo-outcome": {"steps": 120, "steps_run": 120, "stopped_early": False, "accuracy": 0.6484, "rm_rule_agreement": 1.0,
                     "kl": 0.0038822, "adv_mean": -8.3e-09},
    "grpo-process": {"steps": 120, "stopped_early": True, "stop_step": 41, "kept_step": 30, "steps_run": 40,
                     "stop_reason": "RM-rule agreement below 0.6 (mean of 10 steps)", "accuracy": 0.2969,
                     "rm_rule_agreement": 0.4609, "kl": 0.11986, "adv_mean": -0.40907},
    "grpo-online-rft": {"steps": 120, "accuracy": 0.68},  # no guard keys, no steps_run: falls back to steps
    "grpo-iterative": {"steps": 120, "steps_run": 120, "stopped_early": False, "accuracy": 0.5, "rm_rule_agreement": 0.7,
                       "kl": 0.1, "adv_mean": 0.01,
                       "rm_quality_by_iteration": [{"iteration": 0, "auc": 0.8843, "best_of_n": 0.65, "random_of_n": 0.5},
                                                   {"iteration": 1, "auc": 0.9012, "best_of_n": 0.7}]},
}


def line_starting(text: str, prefix: str) -> str:
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def test_paper_2x2_cells_and_collapse_marks():
    grid = paper_2x2(SYNTHETIC, ROLES)
    assert grid.splitlines()[0] == "| | rule reward | trained reward model |"
    assert line_starting(grid, "| outcome supervision") == (
        "| outcome supervision (GRPO) | grpo-outcome: 78.0 / 75.0 | grpo-outcome-orm: 71.0 / 70.0 |")
    assert line_starting(grid, "| process supervision") == (
        "| process supervision (GRPO) | — (no rule process reward) | grpo-process: 30.0 / 31.0 **(collapsed)** |")
    assert line_starting(grid, "| Online RFT") == "| Online RFT | grpo-online-rft: 72.0 / 70.0 | — (rule only) |"
    assert line_starting(grid, "| iterative RL") == "| iterative RL (PRM, refreshed) | — (n/a) | grpo-iterative: 69.0 / 69.0 |"
    assert "top1 / maj@8" in grid and "SFT (sft): 70.0 / 68.0." in grid
    partial = paper_2x2(SYNTHETIC, {"sft": "sft", "outcome": "grpo-outcome"})
    assert "| — (not run) |" in partial  # outcome_orm not in this run
    assert paper_2x2(SYNTHETIC, {"sft": "sft"}) == ""


def test_report_labels_path_checks_and_adds_2x2_findings_and_ablations_per_judged_benchmark():
    text = markdown_report(RESULTS, "fig7.png", ROLES)
    assert "## gsm8k (path check)" in text and "## synthetic\n" in text and "## synthetic (path check)" not in text
    assert "Path checks: gsm8k (SFT top-1 below 10%)" in text
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    gsm8k, synthetic = sections["gsm8k (path check)"], sections["synthetic"]
    assert "the paper's 2x2" not in gsm8k and "### synthetic: the paper's 2x2" in synthetic
    findings = gsm8k[gsm8k.index("### gsm8k: the paper's findings"):]
    rows = [line for line in findings.splitlines() if line.startswith("| ") and "Fig." in line]
    assert len(rows) == 6 and all(row.endswith("| not judged: path check (SFT top-1 below 10%) |") for row in rows)
    assert "not testable: collapsed (process)" in synthetic
    assert "### synthetic: ablations beyond the paper" in synthetic
    assert line_starting(synthetic, "| process_min (PURE-style").endswith("| collapsed |")
    assert line_starting(synthetic, "| process_prime (PRIME-style").endswith("| ok |")
    assert "Model-reward RL settings were chosen by the sweep" not in text
    assert "## Reward-model quality" not in text and "## RL runs" not in text


def test_rm_quality_table_with_missing_keys():
    table = rm_quality_table(RM)
    assert table.startswith("## Reward-model quality\n")
    header = line_starting(table, "| reward model |")
    assert header == ("| reward model | held-out AUC | AUC within a question | accuracy | best-of-N | best-of-N, last-step score | "
                      "random pick (mean accuracy) | oracle (pass@N) | N | held-out questions |")
    assert line_starting(table, "| orm |") == "| orm | 0.908 | — | 81.6 | 62.5 | — | 50.0 | 87.5 | 8 | 40 |"
    assert line_starting(table, "| prm |") == "| prm | 0.884 | 0.550 | 82.7 | 65.0 | 60.0 | 50.0 | 87.5 | 8 | 40 |"
    assert line_starting(table, "| old |") == "| old | 0.700 | — | — | — | — | — | — | — | — |"
    no_last = rm_quality_table({"orm": RM["orm"]})
    assert "last-step" not in line_starting(no_last, "| reward model |")  # the column only when some model has it
    assert rm_quality_table({}) == ""


def test_rl_runs_table_with_stopped_early_rows_and_refresh_table():
    table = rl_runs_table(RUNS)
    assert line_starting(table, "| model |") == (
        "| model | steps run | stopped early | rule accuracy of samples | RM-rule agreement | KL | mean advantage |")
    assert line_starting(table, "| grpo-outcome |") == "| grpo-outcome | 120 | no | 64.8 | 100.0 | 0.0039 | 0.000 |"
    assert line_starting(table, "| grpo-process |") == (
        "| grpo-process | 40 of 120 | yes (at step 41; kept step 30; RM-rule agreement below 0.6 (mean of 10 steps)) | "
        "29.7 | 46.1 | 0.1199 | -0.409 |")
    assert line_starting(table, "| grpo-online-rft |") == "| grpo-online-rft | 120 | — | 68.0 | — | — | — |"
    assert "### Reward model after each iterative-RL refresh (grpo-iterative)" in table
    assert line_starting(table, "| 0 |") == "| 0 | 0.884 | — | 65.0 | 50.0 |"  # no within-question AUC given
    assert line_starting(table, "| 1 |") == "| 1 | 0.901 | — | 70.0 | — |"
    assert table.count("refresh") == 1  # only the run that has rm_quality_by_iteration
    assert rl_runs_table({}) == ""


def test_report_puts_sweep_note_near_the_top_and_sections_at_the_end():
    text = markdown_report(RESULTS, "fig7.png", ROLES, RM, RUNS, "sweep.md", "seed_spread.md")
    note = "Model-reward RL settings were chosen by the sweep in [sweep.md](sweep.md)."
    assert note in text and text.index(note) < text.index("| benchmark | model |")
    spread = "is measured in [seed_spread.md](seed_spread.md)."
    assert spread in text and text.index(note) < text.index(spread) < text.index("| benchmark | model |")
    assert text.index("## synthetic") < text.index("## Reward-model quality") < text.index("## RL runs")


def write_json(path, value) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_cli_end_to_end(tmp_path):
    base = ["--params", str(Path(__file__).resolve().parents[2] / "params.yaml")]  # the default (synthetic) params
    for name, per_bench in RESULTS.items():
        base += ["--model", name, write_json(tmp_path / f"eval-{name}.json", per_bench)]
    for role, name in ROLES.items():
        base += ["--role", role, name]
    argv = list(base)
    for name, m in RM.items():
        argv += ["--rm", name, write_json(tmp_path / f"rm-{name}.json", m)]
    for name, m in RUNS.items():
        argv += ["--run", name, write_json(tmp_path / f"grpo-{name}.json", m)]
    out = tmp_path / "reports"
    out.mkdir()
    (out / "sweep.md").write_text("# Sweep\n")
    (out / "seed_spread.md").write_text("# Spread\n")
    md, png = out / "report.md", out / "fig7.png"
    report_stage.main([*argv, "--sweep", str(out / "sweep.md"), "--seed-spread", str(out / "seed_spread.md"),
                       "--markdown", str(md), "--png", str(png)])
    text = md.read_text()
    assert "[sweep.md](sweep.md)" in text and "[seed_spread.md](seed_spread.md)" in text
    for heading in ("## gsm8k (path check)", "### synthetic: the paper's 2x2", "### synthetic: the paper's findings",
                    "### synthetic: ablations beyond the paper", "## Reward-model quality", "## RL runs",
                    "### Reward model after each iterative-RL refresh (grpo-iterative)"):
        assert heading in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # pages that do not exist (yet): no note, no error; --rm / --run / --sweep / --seed-spread are optional
    report_stage.main([*base, "--sweep", str(out / "missing.md"), "--seed-spread", str(out / "missing2.md"),
                       "--markdown", str(md), "--png", str(png)])
    text = md.read_text()
    assert "sweep" not in text and "training seed" not in text and "## RL runs" not in text and "## Reward-model quality" not in text
