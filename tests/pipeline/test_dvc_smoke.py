"""The whole DAG with real DVC on the smoke profile, in a temporary git repo.

Checks what a researcher relies on: `dvc repro` builds everything; `dvc metrics show` lists top-1,
pass@k and maj@k for every model; a second `dvc repro` is a no-op; a forced rerun of the whole DAG,
run side by side by pipeline/repro.py, records the same hash for every output (determinism,
whatever the thread count); `dvc exp run -S grpo.beta=...` reruns only the GRPO runs that read it
and what follows, and README's `dvc exp show` command shows both runs' headline figures within 160
columns; metrics and plots are in git, so a fresh clone renders `dvc plots show` without a rerun; a
queued experiment runs in DVC's temporary workspace once `data.root` is absolute.
"""

from __future__ import annotations

import json
import os
import re
import shlex
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


def sh(cwd: Path, *cmd: str, env: dict[str, str] | None = None, stderr: list[str] | None = None) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(cwd), **(env or {})}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    if stderr is not None:
        stderr.append(done.stderr)
    return done.stdout


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)


def leaves(tree) -> int:
    """Columns a metrics file adds to `dvc exp show`: one per leaf of its nested keys."""
    return sum(map(leaves, tree.values())) if isinstance(tree, dict) else 1


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
        # The declared metric is the headline: per benchmark top-1, and maj@K, pass@K at the largest K.
        headline = json.loads((project / "metrics" / "headline" / f"{model}.json").read_text())[model]
        assert headline["synthetic"] == {k: data["synthetic"][k] for k in ("top1", "maj@4", "pass@4", "sample_acc")}
        assert set(headline["gsm8k"]) == {"top1", "maj@2", "pass@2", "sample_acc"}
    assert all(f"metrics/headline/{m}.json" in flat for m in MODELS) and '"maj@4"' in flat
    assert "metrics/eval/" not in flat and "metrics/mine.json" not in flat  # detailed tables: files, not metrics
    # DVCLive's summary of a training stage: its last loss, reward, accuracy and KL only.
    assert set(json.loads((project / "dvclive" / "grpo" / "outcome" / "metrics.json").read_text())) == {
        "step", "loss", "reward_mean", "accuracy", "kl"}
    assert set(json.loads((project / "dvclive" / "sft" / "metrics.json").read_text())) == {"step", "loss"}
    columns = sum(leaves(f["data"]) for rev in shown.values() for f in rev["data"].values())
    assert columns <= 250, f"{columns} metric columns in `dvc exp show`"
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
    # Bytecode that anything else wrote into a code dependency (pytest importing a module no
    # stage imports, another Python version) is not part of the stage's inputs (.dvcignore).
    for code in ("inputs", "rl", "training"):
        stray = project / code / "__pycache__" / "stray.cpython-399.pyc"
        stray.parent.mkdir(exist_ok=True)
        stray.write_bytes(b"not a dependency")
    out = sh(project, "dvc", "repro")
    assert "Running stage" not in out


def recorded_outputs(repo: Path) -> dict[str, str]:
    """Every output hash dvc.lock records, but the evaluation's wall-clock timings."""
    import yaml

    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return {out["path"]: out.get("md5", "") for stage in stages.values() for out in stage.get("outs", [])
            if not out["path"].endswith("timing.json")}


def test_forced_rerun_side_by_side_writes_what_dvc_repro_wrote(project):
    """Determinism, and the parallel runner: `python -m pipeline.repro --force` reruns every stage,
    two side by side at 1 thread each where two are ready, each forked by the preload server from
    imported libraries, and DVC records the same hash for every model, dataset, sample file and
    metric as after the fixture's one-at-a-time `dvc repro` at 2 threads in fresh processes; a
    following `dvc repro` has nothing to do."""
    before, metrics = recorded_outputs(project), all_metrics(project)
    out = sh(project, sys.executable, "-m", "pipeline.repro", "--force", "--jobs", "2", "--cores", "2")
    assert re.search(r"start \S+ \(1 thread\)", out) and re.search(r"start \S+ \(2 threads\)", out)
    assert "preload server: stages fork from imported libraries" in out
    served = (project / "logs" / "repro" / "preload.log").read_text()
    ran = len(re.findall(r" ran ", out))
    assert served.count("forked pipeline.") == served.count("exited with 0") == ran > 20, served[-2000:]
    assert recorded_outputs(project) == before
    assert all_metrics(project) == metrics
    assert "Running stage" not in sh(project, "dvc", "repro")
    assert sh(project, sys.executable, "-m", "pipeline.repro").strip() == "Data and pipelines are up to date."


def test_exp_run_with_a_grpo_knob_reruns_only_rl_and_after(project):
    commit(project, "reference run")  # the baseline row of `dvc exp show` then has every metric
    out = sh(project, "dvc", "exp", "run", "-S", "grpo.beta=0.0")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # The rule-reward runs read grpo.beta; the reward-model runs read grpo.model_reward.beta
    # instead and do not rerun; nothing upstream of RL may. An evaluation (and `report`) reruns
    # only if its model changed.
    rule = {"grpo@outcome", "grpo@online-rft"}
    assert rule <= ran
    assert ran <= rule | {f"evaluate@{RL_STAGES[s]}" for s in rule} | {"report"}
    # No assertion that a given evaluation reran: with the smoke model every group can be flat
    # (all rewards equal), and then outcome GRPO skips its update whatever beta is, so its model,
    # and rightly its evaluation, stay as they were.
    shown = sh(project, "dvc", "exp", "show", "--json")
    assert '"beta": 0.0' in shown.replace("\n", "") or "'beta': 0.0" in shown or '"beta":0.0' in shown
    # The experiment carries its metrics (they are git-tracked, not ignored), so exp show compares them.
    assert '"metrics/headline/grpo-outcome.json"' in shown and '"top1"' in shown
    # README's command: a Markdown table (no terminal-width squeezing), at most 160 bytes a line
    # (what `awk '{print length}'` counts), with top-1 of both runs on every benchmark.
    command = re.search(r"^(dvc exp show --no-pager .*)$", (ROOT / "README.md").read_text(), re.M).group(1)
    table = sh(project, *shlex.split(command))
    assert max(len(line.encode()) for line in table.splitlines()) <= 160, table
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("|")]
    header = rows[0]
    runs = {row[header.index("grpo.beta")]: row for row in rows[2:]}
    assert {"0.04", "0"} <= set(runs), table  # the baseline and the experiment
    for bench in ("synthetic", "gsm8k", "math500"):
        column = header.index(f"grpo-outcome.{bench}.top1")
        assert all(0.0 <= float(runs[beta][column]) <= 1.0 for beta in ("0.04", "0")), table


def test_plots_and_metrics_render_in_a_fresh_clone(project, tmp_path):
    """Metrics, curves and DVCLive logs are in git: a clone shows them without `dvc pull` or a rerun,
    and nothing large (models, data, samples) is in git."""
    commit(project, "experiment applied")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    tracked = sh(clone, "git", "ls-files").split()
    assert "dvclive/grpo/outcome/metrics.json" in tracked and "dvclive/sft/plots/metrics/loss.tsv" in tracked
    assert "eval/sft/curves/synthetic.json" in tracked and "metrics/headline/sft.json" in tracked
    assert not [f for f in tracked if f.startswith(("models/", "checkpoints/", "data/"))
                and f != "data/mine/rounds.json" and not f.endswith(".gitignore")]
    assert max((clone / f).stat().st_size for f in tracked if not f.startswith(".")) < 1_000_000
    warnings: list[str] = []
    shown = json.loads(sh(clone, "dvc", "plots", "show", "--json", stderr=warnings))
    assert not any("error" in json.dumps(v).lower() for v in shown.get("errors", {}) or {}), shown.get("errors")
    sh(clone, "dvc", "plots", "show", "-o", str(tmp_path / "html"), stderr=warnings)
    assert not "".join(warnings).strip(), warnings  # no "not found", no "failed to load"
    figures = shown.get("data", shown)
    fig7 = [name for name in figures if "Fig. 7" in name]
    assert fig7 and all(figures[name] for name in fig7)
    sh(clone, "dvc", "metrics", "show")  # metrics read from git alone


def test_queued_experiment_runs_in_a_temporary_workspace(project):
    """`dvc exp run --queue` + `dvc queue start` copy the repo under .dvc/tmp/exps, where the
    relative `../shared/data` points nowhere: an absolute `data.root` (README, "Real data") works."""
    commit(project, "before the queued run")
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
