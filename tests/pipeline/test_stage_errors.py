"""Stage entry points: bad input stops with one clear line naming the file or key; outputs are atomic."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.stage import atomic_dir

ROOT = Path(__file__).resolve().parents[2]


def run_stage(module: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_missing_input_names_the_file(tmp_path):
    done = run_stage("pipeline.dedup", "--pages", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl"),
                     "--metrics", str(tmp_path / "m.json"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "nope.jsonl" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_empty_corpus_is_one_clear_line(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    done = run_stage("pipeline.decontaminate", "--corpus", str(tmp_path / "empty.jsonl"),
                     "--benchmark", str(tmp_path / "empty.jsonl"), "--output", str(tmp_path / "k.jsonl"),
                     "--report", str(tmp_path / "r.json"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "empty.jsonl" in done.stderr


def test_bad_params_value_names_the_key(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text().replace("  beta: 0.04", "  beta: -1", 1))  # grpo.beta only
    done = run_stage("pipeline.grpo", "--params", str(params), "--method", "grpo_outcome", "--train", "x",
                     "--init", "x", "--out", "x", "--live", "x", "--metrics", "x", "--checkpoints", "x")
    assert done.returncode == 1
    assert "grpo.beta: must be >= 0" in done.stderr and "Traceback" not in done.stderr


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("killed mid-write")
    assert (target / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary left behind
