"""Pieces the training stages share: loading a tokenizer + model, saving both atomically.

This module loads torch and transformers; the stages import it after parsing their arguments
(their output arguments are `stage.add_training_outputs`)."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch
from accelerate import PartialState
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from evaluation.prompts import read_format, record_format
from inputs.jsonl import write_metrics_atomic
from pipeline import stage
from training.checkpoint import Checkpointer
from pipeline.config import Params
from training.model import count_parameters, torch_dtype
from training.runtime import TrainResult, TrainRuntime, is_sharded, rows_per_pass
from training.step_log import StepLogger


def train_runtime(params: Params, micro_batch_size: int) -> TrainRuntime:
    """A training stage's runtime: compute dtype from `model.dtype`, memory savers from `runtime`."""
    return TrainRuntime(params.model.dtype, micro_batch_size, params.runtime.gradient_checkpointing,
                        params.runtime.shared_prompt)


def finish(args: argparse.Namespace, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
           logger: StepLogger, checkpointer: Checkpointer, metrics: dict, prompt_format: str | None = None,
           result: TrainResult | None = None, dtype: str = "float32") -> None:
    """Close the logs, save the model in `dtype`, then drop the checkpoints and write the final metrics.

    `prompt_format` is recorded in the model directory (evaluation's `model` prompt reads it).
    `result` carries the state dict gathered over processes (needed when the model is sharded).
    Under `accelerate launch` only the main process writes; the others have nothing to add."""
    logger.close()
    if not PartialState().is_main_process:
        return
    state = result.full_state if result is not None else None
    save_model(model, tokenizer, args.out, prompt_format, state, dtype)
    checkpointer.clear()
    write_metrics_atomic(args.metrics, metrics)


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(stage.require_file(path))


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out: str,
               prompt_format: str | None = None, state: dict[str, torch.Tensor] | None = None,
               dtype: str = "float32") -> None:
    """Model, tokenizer and prompt format in one directory, so later stages load from one path.

    Training keeps float32 master weights; the saved copy is cast to the profile's `dtype`.
    `state`: a state dict gathered from a sharded model (else the model's own)."""
    with stage.atomic_dir(out) as tmp:
        if state is None and dtype == "float32":
            model.save_pretrained(tmp)
        else:
            target = torch_dtype(dtype)
            state = model.state_dict() if state is None else state
            state = {k: v.to(target) if v.is_floating_point() else v for k, v in state.items()}
            model.config.dtype = target
            model.save_pretrained(tmp, state_dict=state)
        tokenizer.save_pretrained(tmp)
        if prompt_format is not None:
            record_format(tmp, prompt_format)
    stage.log.info("saved %s (%.2fM parameters)", out, count_parameters(model) / 1e6)


def fingerprint(*parts: object) -> str:
    """Identity of a run's settings and inputs, so a stale checkpoint is never resumed."""
    return hashlib.sha256(json.dumps([repr(p) for p in parts]).encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """Digest of an input file (or of a directory's files), for checkpoint fingerprints."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def check_init_format(init: str, fmt: str) -> None:
    """A policy trained with one prompt format is not trained further with another."""
    recorded = read_format(init)
    if recorded is not None and recorded != fmt:
        raise ValueError(f"prompt: params say {fmt!r} but {init} was trained with {recorded!r}; "
                         "rerun its training stage or set prompt back")


def source_counts(problems: list[dict]) -> dict[str, int]:
    """Problems per source (gsm8k, math, synthetic, ...), for a stage's metrics."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem["source"]] = counts.get(problem["source"], 0) + 1
    return dict(sorted(counts.items()))


def malformed(counts: dict[str, int]) -> dict[str, int]:
    """The skip reasons of a reader's counts (bad JSON, non-objects, unusable problems)."""
    return {k: v for k, v in sorted(counts.items()) if k.startswith(("bad_", "not_", "skipped_"))}


def make_rollout_engine(params: Params, model_dir: str, policy: PreTrainedModel | None = None,
                        tokenizer=None, rows: int = 64):
    """The sampler of GRPO rollouts (`runtime.engine`): None for HF, which samples from the live
    policy module; the lean decode loop on the live policy (`rows` sequences per chunk); a vLLM
    engine colocated in this process, built from `model_dir` and kept in step with the policy by
    a weight load after every optimizer step.

    The lean engine seeds per chunk, not per prompt, so several processes could not reproduce
    the 1-process samples by splitting them: with several processes it hands over to HF (which
    samples the whole batch on every process), and it refuses sharded weights."""
    engine = params.runtime.engine
    if engine == "lean":
        state = PartialState()
        if is_sharded(state):
            raise ValueError("runtime.engine: 'lean' samples from the local policy module, which FSDP / ZeRO-3 "
                             "shard; use hf or vllm")
        if state.num_processes > 1:
            stage.log.info("runtime.engine: lean samples on one process; with %d processes HF generate samples",
                           state.num_processes)
            return None
        from generation import make_engine

        return make_engine("lean", model=policy, tokenizer=tokenizer, batch_size=rows)
    if engine == "hf":
        return None
    from generation.vllm_engine import VLLMEngine  # the GPU extra; imported only when asked for

    return VLLMEngine(str(stage.require_file(model_dir)), seed=params.seed, dtype=params.model.dtype,
                      gpu_memory_utilization=params.runtime.vllm_gpu_memory, enable_sleep=params.runtime.vllm_sleep)


def log_memory(params: Params, model: PreTrainedModel, stage_name: str, *, rows: int, seq_len: int,
               sampling: tuple[int, int] | None = None) -> None:
    """Log the stage's peak-memory estimate per process (training/memory.py) before the long
    part starts, with a warning when it exceeds the device. `rows` x `seq_len`: one micro-batch."""
    from training.memory import estimate, log_estimate

    state = PartialState()
    est = estimate(model.config, stage=stage_name.split("@")[0], compute_dtype=params.model.dtype,
                   micro_batch_size=max(1, rows), seq_len=max(1, seq_len),
                   gradient_checkpointing=params.runtime.gradient_checkpointing, sampling=sampling,
                   world_size=state.num_processes, sharded=is_sharded(state))
    if state.is_main_process:
        log_estimate(stage_name, est)


def micro_rows(micro_batch_size: int, batch_size: int) -> int:
    """Rows of one forward/backward on one process (micro_batch_size 0: the process's share)."""
    return rows_per_pass(micro_batch_size, batch_size, PartialState().num_processes)
