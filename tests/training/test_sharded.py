"""1 process vs 2 data-parallel processes through the real stage entry points: the same run.

Each step's global batch is drawn by (seed, step) and every rank takes its share of the rows, each
rank's loss is normalised by the global count and the logged loss is the global one; GRPO samples
the whole rollout batch on every rank with the 1-process seed and each rank updates on its slice.
So `python -m pipeline.<stage>` and the same stage under `accelerate launch --num_processes 2`
must log the same per-step losses, up to float32 reduction order.

How the 2 processes are started on a CPU-only machine (measured, accelerate 1.15, torch 2.13):
- `accelerate launch --cpu --num_processes 2` starts ONE process (its simple launcher runs
  `python -m ...` once; several CPU processes need an mpirun hostfile), so it is not used here.
- `accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 2` starts two
  through torchrun; the stage (`pipeline.stage.seed_everything`, PartialState(cpu=True)) joins
  them in one gloo group: DDP.
- The same with configs/accelerate/fsdp.yaml also gives DDP on CPU: accelerate turns FSDP on
  only for GPU-like distributed types, not MULTI_CPU, and says nothing. FSDP2 itself
  (`fully_shard`) trains, gathers a full state dict and generates on CPU + gloo, and so does
  accelerate's FSDP2 path when forced past that check; so the FSDP comparison runs where
  accelerate really shards, on 2+ CUDA devices.

Each launch sets a free --main_process_port, so concurrent runs do not collide on 29500.
"""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from inputs.jsonl import write_jsonl_atomic
from training.model import load_model

ROOT = Path(__file__).resolve().parents[2]
ACCELERATE = Path(sys.executable).parent / "accelerate"
DDP = ROOT / "configs" / "accelerate" / "ddp.yaml"
FSDP = ROOT / "configs" / "accelerate" / "fsdp.yaml"
SFT_STEPS, GRPO_STEPS = 3, 2

# Tolerances (float32 everywhere; profiles/smoke.yaml has model.dtype float32):
# - SFT loss: the global mean over the batch's tokens is a sum of two per-rank partial sums instead
#   of one sum (relative error ~1e-7 at step 1); the all-reduced gradient differs from the
#   1-process gradient by the same order, and 2 AdamW steps at lr 2e-3 (Adam's update is
#   ~lr * sign(g), so a gradient that differs in the 7th digit moves a weight in the 9th-10th)
#   keep the later losses within ~1e-6 relative. rel 1e-4 leaves two orders of margin while a
#   wrong normalisation (mean of per-rank means, a rank's own batch, loss not globally reduced)
#   shows as 1e-2 or more. Measured on 2 CPU cores: 1.2e-7 at most over 3 steps.
# - grad_norm (pre-clip, both stages): the global gradient's norm, so a gradient normalised per
#   rank instead of by the global count shows here even when the loss hides it (GRPO's is ~0).
#   Same rel 1e-4; measured 6e-8 (SFT), bit-equal (GRPO).
# - GRPO: the loss is sum(w * adv) (+ beta * kl), about 0 with outcome advantages that are
#   centred per group, so it is compared with an absolute floor (1e-6, far below a per-token
#   term ~1/n_tokens ~1e-3); kl is 0 at step 1 (pi = pi_ref) and ~1e-7 after one step at lr 5e-5
#   (measured 1.4e-7), so its floor is 1e-8. The rollouts must be the same samples, so the rewards match to 1e-6.
#   Measured: GRPO's logged values and weights are bit-equal between 1 and 2 processes (on the
#   smoke data one group per step has a non-zero reward std, so the updated rows all lie in one
#   rank's share and the other rank's backward contributes nothing).
# - saved weights: atol 1e-5 (measured 4.3e-7 after 3 SFT steps); a wrong normalisation moves
#   weights by ~lr = 2e-3.
SFT_REL = 1e-4
GRAD_NORM_REL = 1e-4
GRPO_LOSS = dict(rel_tol=1e-4, abs_tol=1e-6)
GRPO_KL = dict(rel_tol=1e-3, abs_tol=1e-8)
GRPO_EXACTISH = dict(rel_tol=1e-6, abs_tol=1e-9)  # reward_mean, accuracy, response_len: same samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_params(tmp: Path) -> Path:
    """profiles/smoke.yaml with short SFT and GRPO runs logged every step, one thread per process
    (2 processes on 2 cores; the thread count also fixes the matmul reduction order)."""
    params = yaml.safe_load((ROOT / "profiles" / "smoke.yaml").read_text())
    params["threads"] = 1
    params["sft"].update(steps=SFT_STEPS, log_every=1)
    params["grpo"].update(steps=GRPO_STEPS, log_every=1)
    # The lean sampler seeds per chunk and runs on one process only (several processes sample
    # with HF), so 1 process and 2 must both sample with HF to draw the same rollouts.
    params["runtime"]["engine"] = "hf"
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture()
def stage_inputs(tiny_model, tokenizer, problems, tmp_path):
    """(params, train JSONL, init model dir) shared by a test's runs."""
    init = tmp_path / "init"
    tiny_model.save_pretrained(init)
    tokenizer.save_pretrained(init)
    train = tmp_path / "train.jsonl"
    write_jsonl_atomic(train, problems[0])
    return write_params(tmp_path), train, init


def run_stage(module: str, stage_args: list[str], out: Path, processes: int, config: Path | None = None) -> dict:
    """Run `python -m module` (1 process) or `accelerate launch` of it (2 processes); returns the
    final metrics, with the per-step logged values under "_steps" ({name: {step: value}})."""
    args = stage_args + ["--out", str(out / "model"), "--live", str(out / "live"), "--metrics", str(out / "m.json"),
                         "--checkpoints", str(out / "ck")]
    if processes == 1:
        cmd = [sys.executable, "-m", module, *args]
    else:
        cmd = [str(ACCELERATE), "launch", "--config_file", str(config), "--num_processes", str(processes),
               "--num_machines", "1", "--main_process_port", str(free_port()), "-m", module, *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{' '.join(cmd[:8])} ...\n{done.stderr[-4000:]}"
    metrics = json.loads((out / "m.json").read_text())
    metrics["_steps"] = logged(out / "live")
    metrics["_stderr"] = done.stderr
    return metrics


def logged(live: Path) -> dict[str, dict[int, float]]:
    """DVCLive's per-step scalars: live/plots/metrics/<name>.tsv with columns step, <name>."""
    series = {}
    for tsv in sorted((live / "plots" / "metrics").glob("*.tsv")):
        with tsv.open() as f:
            series[tsv.stem] = {int(row["step"]): float(row[tsv.stem]) for row in csv.DictReader(f, delimiter="\t")}
    return series


def one_logger(stderr: str, first_step: str) -> None:
    """Only the main process logs steps: two processes that each ran alone (no process group,
    each its own main) would log every step twice."""
    assert stderr.count(first_step) == 1, f"expected one process group logging {first_step!r} once"


def close(a: float, b: float, **tol) -> bool:
    return math.isclose(a, b, **tol)


def sft_args(params: Path, train: Path, init: Path) -> list[str]:
    return ["--params", str(params), "--train", str(train), "--init", str(init)]


def grpo_args(params: Path, train: Path, init: Path) -> list[str]:
    return ["--params", str(params), "--method", "grpo_outcome", "--train", str(train), "--init", str(init)]


def check_sft(one: dict, two: dict) -> None:
    losses1, losses2 = one["_steps"]["loss"], two["_steps"]["loss"]
    assert sorted(losses1) == sorted(losses2) == list(range(1, SFT_STEPS + 1))
    for step in losses1:
        assert close(losses1[step], losses2[step], rel_tol=SFT_REL), (step, losses1[step], losses2[step])
    for step, norm in one["_steps"]["grad_norm"].items():
        assert close(norm, two["_steps"]["grad_norm"][step], rel_tol=GRAD_NORM_REL), ("grad_norm", step)
    assert close(one["final_loss"], two["final_loss"], rel_tol=SFT_REL), (one["final_loss"], two["final_loss"])
    # the steps must have trained: the loss moved
    assert losses1[SFT_STEPS] != losses1[1]


def check_grpo(one: dict, two: dict) -> None:
    assert one["processes"] == 1 and two["processes"] == 2
    assert one["steps"] == two["steps"] == GRPO_STEPS
    s1, s2 = one["_steps"], two["_steps"]
    assert {k: sorted(v) for k, v in s1.items()} == {k: sorted(v) for k, v in s2.items()}  # same values, same steps
    assert sorted(s1["reward_mean"]) == list(range(1, GRPO_STEPS + 1))
    assert s1.get("loss"), "no step updated the policy: nothing to compare"
    tolerances = {"reward_mean": GRPO_EXACTISH, "accuracy": GRPO_EXACTISH, "response_len": GRPO_EXACTISH,
                  "loss": GRPO_LOSS, "kl": GRPO_KL, "grad_norm": dict(rel_tol=GRAD_NORM_REL)}
    for key, tol in tolerances.items():
        for step, value in s1.get(key, {}).items():  # the update's values exist at steps that updated
            assert close(value, s2[key][step], **tol), (key, step, value, s2[key][step])
    assert close(one["loss"], two["loss"], **GRPO_LOSS) and close(one["kl"], two["kl"], **GRPO_KL)


def same_weights(a: Path, b: Path, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """The 2-process model (saved from the gathered state) matches the 1-process one."""
    ma, mb = load_model(str(a)), load_model(str(b))
    for (name, pa), (_, pb) in zip(ma.state_dict().items(), mb.state_dict().items()):
        assert torch.allclose(pa, pb, rtol=rtol, atol=atol), name


@pytest.mark.slow
def test_sft_ddp_matches_one_process(stage_inputs, tmp_path):
    params, train, init = stage_inputs
    one = run_stage("pipeline.sft", sft_args(params, train, init), tmp_path / "one", 1)
    two = run_stage("pipeline.sft", sft_args(params, train, init), tmp_path / "ddp", 2, DDP)
    one_logger(two["_stderr"], f"step 1/{SFT_STEPS} ")
    check_sft(one, two)
    same_weights(tmp_path / "one" / "model", tmp_path / "ddp" / "model")
    assert not (tmp_path / "ddp" / "ck").exists()


@pytest.mark.slow
def test_grpo_ddp_matches_one_process(stage_inputs, tmp_path):
    params, train, init = stage_inputs
    one = run_stage("pipeline.grpo", grpo_args(params, train, init), tmp_path / "one", 1)
    two = run_stage("pipeline.grpo", grpo_args(params, train, init), tmp_path / "ddp", 2, DDP)
    one_logger(two["_stderr"], f"step 1/{GRPO_STEPS} ")
    check_grpo(one, two)
    same_weights(tmp_path / "one" / "model", tmp_path / "ddp" / "model")


FSDP_ON_CPU = (
    "accelerate 1.15 does not shard on CPU: with configs/accelerate/fsdp.yaml and a gloo group "
    "AcceleratorState keeps distributed_type=MULTI_CPU and prepare() returns DistributedDataParallel "
    "(FSDP is only enabled for GPU-like distributed types; measured, no error raised); FSDP1 forced "
    "through it fails 'Inconsistent compute device and `device_id` on rank 1: cpu vs cpu:0'. "
    "Runs on 2+ CUDA devices."
)
needs_two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason=FSDP_ON_CPU)


@pytest.mark.slow
@pytest.mark.gpu
@needs_two_gpus
def test_sft_fsdp_matches_one_process(stage_inputs, tmp_path):
    params, train, init = stage_inputs
    one = run_stage("pipeline.sft", sft_args(params, train, init), tmp_path / "one", 1)
    two = run_stage("pipeline.sft", sft_args(params, train, init), tmp_path / "fsdp", 2, FSDP)
    one_logger(two["_stderr"], f"step 1/{SFT_STEPS} ")
    check_sft(one, two)
    same_weights(tmp_path / "one" / "model", tmp_path / "fsdp" / "model")


@pytest.mark.slow
@pytest.mark.gpu
@needs_two_gpus
def test_grpo_fsdp_matches_one_process(stage_inputs, tmp_path):
    params, train, init = stage_inputs
    one = run_stage("pipeline.grpo", grpo_args(params, train, init), tmp_path / "one", 1)
    two = run_stage("pipeline.grpo", grpo_args(params, train, init), tmp_path / "fsdp", 2, FSDP)
    one_logger(two["_stderr"], f"step 1/{GRPO_STEPS} ")
    check_grpo(one, two)
    same_weights(tmp_path / "one" / "model", tmp_path / "fsdp" / "model")
