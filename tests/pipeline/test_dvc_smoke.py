"""The whole DAG with real DVC on the smoke profile, in a temporary git repo.

Checks what a researcher relies on: `dvc repro` builds everything; `dvc metrics show` lists
top-1, pass@k and maj@k for every model; a second `dvc repro` is a no-op; a forced rerun of the
whole DAG reproduces every metric exactly (determinism); `dvc exp run -S grpo.beta=...` reruns
only GRPO and what follows, and `dvc exp show` lists it; a queued experiment runs in DVC's
temporary workspace once `data.root` is absolute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPY = ["pipeline", "inputs", "data_selection", "training", "rl", "evaluation", "generation", "profiles", "annotations", "dvc.yaml",
        ".dvc/config", ".dvcignore"]
MODELS = ["sft", "grpo-online-rft", "grpo-outcome", "grpo-outcome-orm", "grpo-process", "grpo-iterative",
          "grpo-process-prime", "grpo-process-min"]
RL_STAGES = {"grpo@outcome": "grpo-outcome", "grpo@online-rft": "grpo-online-rft",
             "grpo-rm@outcome-orm": "grpo-outcome-orm", "grpo-rm@process": "grpo-process",
             "grpo-iterative": "grpo-iterative", "grpo-rm@process-prime": "grpo-process-prime",
             "grpo-rm@process-min": "grpo-process-min"}

pytestmark = pytest.mark.slow


def sh(cwd: Path, *cmd: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(cwd)}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


SHARED = ROOT.parent / "shared"
BENCHMARK_FILES = ["gsm8k/test.jsonl", "math/test.jsonl", "math500/test.jsonl"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    missing = [f for f in BENCHMARK_FILES if not (SHARED / "data" / f).is_file()]
    if missing:
        pytest.skip(f"benchmark data absent: {SHARED / 'data'} lacks {missing} (dvc.yaml reads ../shared/data)")
    # The repo sits next to a link to the shared folder, as /work/main sits next to /work/shared.
    base = tmp_path_factory.mktemp("smoke")
    (base / "shared").symlink_to(SHARED)
    repo = base / "main"
    repo.mkdir()
    for name in COPY:
        src = ROOT / name
        dst = repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dst)
    shutil.copy(ROOT / "profiles" / "smoke.yaml", repo / "params.yaml")
    (repo / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke")
    sh(repo, "dvc", "repro")
    return repo


def all_metrics(repo: Path) -> dict[str, dict]:
    """Every metrics JSON of every stage (data counts, training losses, evaluation)."""
    return {str(p.relative_to(repo)): json.loads(p.read_text()) for p in sorted((repo / "metrics").rglob("*.json"))}


def test_metrics_show_lists_every_model(project):
    shown = json.loads(sh(project, "dvc", "metrics", "show", "--json"))
    flat = json.dumps(shown)
    for model in MODELS:
        data = json.loads((project / "metrics" / "eval" / f"{model}.json").read_text())
        for key in ("top1", "pass@1", "pass@4", "maj@1", "maj@4"):
            assert 0.0 <= data["synthetic"][key] <= 1.0
        for bench in ("gsm8k", "math500"):  # real benchmarks run end to end (accuracy ~0)
            assert data[bench]["n_problems"] > 0 and 0.0 <= data[bench]["maj@2"] <= 1.0
        assert "by_level" in data["math500"] and "by_subject" in data["math500"]
    assert all(f"metrics/eval/{m}.json" in flat for m in MODELS) and '"maj@4"' in flat
    for kind in ("orm", "prm"):
        rm = json.loads((project / "metrics" / "rm" / f"{kind}.json").read_text())
        assert 0.0 <= rm["heldout_accuracy"] <= 1.0 and rm["heldout_questions"] >= 1 and "heldout_best_of_n" in rm
    assert (project / "reports" / "fig7.png").read_bytes()[:4] == b"\x89PNG"
    report = (project / "reports" / "report.md").read_text()
    assert all(f"| {m} |" in report for m in MODELS) and "| math500 | grpo-outcome |" in report
    # The data stages say where records came from; decontamination checked all four benchmarks.
    assert "| problems@sft (SFT problems) | synthetic " in report and "## Data" in report
    assert "## Reward-model quality" in report and "## RL runs" in report and "ablations beyond the paper" in report
    iterative = json.loads((project / "metrics" / "grpo" / "iterative.json").read_text())
    assert iterative["rm_quality_by_iteration"][0]["iteration"] == 0
    decon = json.loads((project / "metrics" / "decontaminate.json").read_text())
    assert decon["benchmark_records"] == {"gsm8k": 1319, "math": 5000, "math500": 500, "synthetic": 40}


def test_second_repro_is_a_noop(project):
    out = sh(project, "dvc", "repro")
    assert "Running stage" not in out


def test_forced_rerun_gives_identical_metrics(project):
    before = all_metrics(project)
    sh(project, "dvc", "repro", "--force")
    assert all_metrics(project) == before


def test_exp_run_with_a_grpo_knob_reruns_only_rl_and_after(project):
    out = sh(project, "dvc", "exp", "run", "-S", "grpo.beta=0.0")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # Every RL stage reads the `grpo` section and reruns; nothing upstream of RL may. An evaluation
    # (and `report`) reruns only if its model changed.
    assert set(RL_STAGES) <= ran
    assert ran <= set(RL_STAGES) | {f"evaluate@{m}" for m in RL_STAGES.values()} | {"report"}
    # No assertion that a given evaluation reran: with the smoke model every group can be flat
    # (all rewards equal), and then outcome GRPO skips its update whatever beta is, so its model,
    # and rightly its evaluation, stay as they were.
    shown = sh(project, "dvc", "exp", "show", "--json")
    assert '"beta": 0.0' in shown.replace("\n", "") or "'beta': 0.0" in shown or '"beta":0.0' in shown
    # The experiment carries its metrics (they are git-tracked, not ignored), so exp show compares them.
    assert '"metrics/eval/grpo-outcome.json"' in shown and '"top1"' in shown


def test_queued_experiment_runs_in_a_temporary_workspace(project):
    """`dvc exp run --queue` + `dvc queue start` copy the repo under .dvc/tmp/exps, where the
    relative `../shared/data` points nowhere: an absolute `data.root` (README, "Real data") works."""
    sh(project, "git", "add", "-A")
    sh(project, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "reference run")
    root = str((project.parent / "shared" / "data").resolve())
    sh(project, "dvc", "exp", "run", "--queue", "-S", f"data.root={root}", "-S", "grpo.beta=0.02")
    sh(project, "dvc", "queue", "start")
    for _ in range(600):  # the worker runs in the background: poll until the task ends
        status = sh(project, "dvc", "queue", "status")
        if "Success" in status or "Failed" in status:
            break
        time.sleep(1)
    assert "Success" in status, status + sh(project, "dvc", "queue", "logs", status.split()[4])
    shown = json.loads(sh(project, "dvc", "exp", "show", "--json"))
    flat = json.dumps(shown)
    assert root in flat and '"beta": 0.02' in flat
