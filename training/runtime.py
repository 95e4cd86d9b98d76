"""How a trainer runs on its hardware: precision, memory savers, processes and sharding.

Mixed precision keeps float32 master weights and float32 AdamW state, and runs the forward
(hence the activations and most of the backward) in the compute dtype under `torch.autocast`.
The alternative the project used before, bf16 weights updated in place, loses updates: at
lr 1e-6 an AdamW step moves a weight by about 1e-6, far below bf16's spacing near 1 (2^-7), so
measured on CPU one GRPO update changed 2.24% of bf16 weights against 99.98% in float32
(tests/training/test_precision.py keeps that contrast). The dtype is `model.dtype` in params; the
saved model is cast to it at the end.

Processes: every rank draws the same global batch (a generator seeded by seed and step) and
takes its share of the rows; each rank's loss is scaled so that the gradients accelerate averages
over processes are exactly those of the 1-process batch. Sharded runs (FSDP, ZeRO-3) gather a
full state dict for saving.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType

from training.model import torch_dtype


@dataclass(frozen=True)
class TrainRuntime:
    """Per-stage runtime knobs: compute dtype (`model.dtype`), micro-batch size, checkpointing."""

    compute_dtype: str = "float32"
    micro_batch_size: int = 0  # rows per forward/backward on each process; 0: the process's whole share
    gradient_checkpointing: bool = False
    shared_prompt: bool = False  # GRPO: each group's prompt runs once per update pass (rl/shared_prompt.py)

    def __post_init__(self) -> None:
        if self.compute_dtype not in ("float32", "bfloat16"):
            # float16 would need loss scaling (GradScaler) to train; it stays an inference dtype.
            raise ValueError(f"model.dtype: training computes in float32 or bfloat16, got {self.compute_dtype!r}")
        if self.micro_batch_size < 0:
            raise ValueError(f"micro_batch_size: must be >= 0, got {self.micro_batch_size}")


def for_training(model: torch.nn.Module, runtime: TrainRuntime) -> torch.nn.Module:
    """Float32 master weights (whatever dtype the checkpoint was saved in), and activation
    recomputation when asked; returns the model, changed in place."""
    model.float()
    if runtime.gradient_checkpointing:
        # Non-reentrant checkpointing works with DDP, FSDP and frozen inputs; the KV cache is
        # useless (and unsupported) while checkpointing a training forward.
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x; the old name warns
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        model.config.use_cache = False
    return model


def autocast(device: torch.device, compute_dtype: str) -> contextlib.AbstractContextManager:
    """The forward's precision: a no-op in float32, bf16 autocast otherwise (CPU or GPU)."""
    if compute_dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch_dtype(compute_dtype))


def is_sharded(acc: Accelerator | PartialState) -> bool:
    """True when parameters are split over processes (FSDP or DeepSpeed ZeRO)."""
    return acc.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def sync_context(acc: Accelerator, wrapped: torch.nn.Module, last: bool) -> contextlib.AbstractContextManager:
    """Skip DDP's gradient all-reduce on all but the last micro-batch. FSDP reduces on every
    backward (its no_sync would keep unsharded gradients, the memory FSDP saves). DeepSpeed steps
    its own optimizer inside backward whenever accelerate says gradients sync, so that flag is
    set here, as `Accelerator.accumulate` sets it, true on the last micro-batch only."""
    if acc.distributed_type == DistributedType.DEEPSPEED:
        acc.gradient_state._set_sync_gradients(last)
        return contextlib.nullcontext()
    if last or acc.num_processes == 1 or is_sharded(acc):
        return contextlib.nullcontext()
    return acc.no_sync(wrapped)


def configure_deepspeed(acc: Accelerator, micro_rows: int, n_parts: int, grad_clip: float) -> None:
    """ZeRO reads its micro-batch size, accumulation count and clipping from its own config, and
    must have them before `prepare` (no DataLoader is prepared to infer them from): the same
    numbers the trainer uses, so DeepSpeed steps once per optimizer step, clipped as params say."""
    if acc.distributed_type != DistributedType.DEEPSPEED:
        return
    config = acc.state.deepspeed_plugin.deepspeed_config
    config["train_micro_batch_size_per_gpu"] = micro_rows
    config["gradient_accumulation_steps"] = n_parts
    config["train_batch_size"] = micro_rows * n_parts * acc.num_processes
    config["gradient_clipping"] = grad_clip
    acc.gradient_accumulation_steps = n_parts


def loss_scale(acc: Accelerator) -> int:
    """Factor on a micro-batch loss that is already normalised by the global batch's count:
    accelerate averages gradients over processes (x world size), and DeepSpeed also divides each
    micro-batch loss by its accumulation count (x that count)."""
    scale = acc.num_processes
    if acc.distributed_type == DistributedType.DEEPSPEED:
        scale *= acc.gradient_accumulation_steps
    return scale


def rows_per_pass(micro_batch_size: int, batch_size: int, world: int) -> int:
    """Rows of one forward/backward on one process: the micro-batch, at most the process's share
    of the batch (micro_batch_size 0: the whole share)."""
    share = max(1, batch_size // world)
    return min(micro_batch_size, share) if micro_batch_size > 0 else share


def rank_share(n: int, acc: Accelerator, what: str) -> slice:
    """This process's contiguous share of a global batch of n rows."""
    world = acc.num_processes
    if n % world:
        raise ValueError(f"{what}: {n} is not divisible by {world} processes")
    share = n // world
    return slice(acc.process_index * share, (acc.process_index + 1) * share)


def global_sum(acc: Accelerator, value: float) -> float:
    """Sum of a Python float over processes (the value itself with one process)."""
    if acc.num_processes == 1:
        return value
    return float(acc.reduce(torch.tensor([value], device=acc.device, dtype=torch.float64), reduction="sum")[0])


def clip_and_step(acc: Accelerator, wrapped: torch.nn.Module, optimizer: torch.optim.Optimizer,
                  grad_clip: float) -> float:
    """Clip the global gradient norm through the accelerator (sharded gradients are reduced over
    processes, not clipped per shard), step, zero the gradients; returns the pre-clip norm."""
    norm = acc.clip_grad_norm_(wrapped.parameters(), grad_clip if grad_clip > 0 else float("inf"))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if norm is None:  # DeepSpeed reports no norm on a step it skipped (e.g. overflow)
        return float("nan")
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2
        norm = norm.full_tensor()
    return float(norm)


def full_state_dict(acc: Accelerator, wrapped: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    """The whole model's state dict, gathered on the main process (None elsewhere). Every process
    must call it: under FSDP and ZeRO-3 gathering is a collective."""
    state = acc.get_state_dict(wrapped)
    return state if acc.is_main_process else None


class TrainResult(dict):
    """A trainer's last logged values, plus the gathered state dict the final model is saved
    from (`full_state`), which a sharded module cannot give on one process."""

    full_state: dict[str, torch.Tensor] | None = None
