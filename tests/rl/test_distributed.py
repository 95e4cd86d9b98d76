"""GRPO data-parallel over 2 CPU processes (torchrun + gloo) through the real stage entry point."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inputs.jsonl import write_jsonl_atomic
from training.model import load_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_grpo_runs_on_two_processes(tiny_model, tokenizer, problems, tmp_path):
    init = tmp_path / "sft"
    tiny_model.save_pretrained(init)
    tokenizer.save_pretrained(init)
    write_jsonl_atomic(tmp_path / "train.jsonl", problems[0])
    params = (ROOT / "profiles" / "smoke.yaml").read_text().replace("  steps: 4\n", "  steps: 2\n")
    (tmp_path / "params.yaml").write_text(params)
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    cmd = [torchrun, "--nproc_per_node", "2", "-m", "pipeline.grpo", "--params", str(tmp_path / "params.yaml"),
           "--method", "grpo_outcome", "--train", str(tmp_path / "train.jsonl"), "--init", str(init),
           "--out", str(tmp_path / "out"), "--live", str(tmp_path / "live"), "--metrics", str(tmp_path / "m.json"),
           "--checkpoints", str(tmp_path / "ck")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:] + "\n" + "\n".join(l for l in done.stderr.splitlines() if "Error" in l or "error" in l)[-3000:]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 2
    trained = load_model(str(tmp_path / "out"))
    changed = any(not torch.equal(a, b) for a, b in zip(trained.parameters(), tiny_model.parameters()))
    assert changed
    assert not (tmp_path / "ck").exists()  # checkpoints are removed once the model is saved
