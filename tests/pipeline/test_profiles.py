"""The profiles: `real` runs every stage on real inputs; `gpu` is `real` with a pretrained model and
the paper's sizes, nothing else different; the DAG has the ingest stage exactly when web pages
are real (checked with real DVC)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path


from pipeline.config import load_params

ROOT = Path(__file__).resolve().parents[2]
# What a bigger machine changes; everything else (inputs, prompt, methods, RL settings' meaning) must not.
SIZE_SECTIONS = {"threads", "mine", "executor", "tokenizer", "model", "pretrain", "sft", "grpo", "reward_model",
                 "iterative", "evaluate", "runtime"}


def test_gpu_is_the_real_profile_with_a_pretrained_model_and_full_sizes():
    real, gpu = load_params(ROOT / "profiles" / "real.yaml"), load_params(ROOT / "profiles" / "gpu.yaml")
    differ = {f.name for f in dataclasses.fields(real) if getattr(real, f.name) != getattr(gpu, f.name)}
    assert differ <= SIZE_SECTIONS, differ - SIZE_SECTIONS
    assert real.data == gpu.data and real.prompt == gpu.prompt == "cot" and real.world == gpu.world
    assert real.data.web.source == "files" and real.data.seed.source == "problems"
    assert real.data.sft.source == real.data.rl.source == "real"
    assert gpu.model.pretrained and gpu.tokenizer.pretrained and real.model.pretrained is None
    assert {b.name for b in real.evaluate.benchmarks} == {b.name for b in gpu.evaluate.benchmarks} == {
        "gsm8k", "math", "math500"}


def _stages(tmp_path: Path, profile: str) -> list[str]:
    repo = tmp_path / profile
    repo.mkdir()
    for name in ("dvc.yaml", ".dvc/config"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    shutil.copy(ROOT / ("params.yaml" if profile == "default" else f"profiles/{profile}.yaml"), repo / "params.yaml")
    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent)) or "dvc"
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    done = subprocess.run([dvc, "stage", "list", "--name-only"], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_dag_follows_the_data_params(tmp_path):
    default, real, gpu = (_stages(tmp_path, name) for name in ("default", "real", "gpu"))
    assert real == gpu
    assert set(real) - set(default) == {"ingest@web"} and set(default) <= set(real)
    for stage in ("seed", "problems@sft", "problems@rl", "benchmarks@math", "decontaminate", "evaluate@sft"):
        assert stage in default
