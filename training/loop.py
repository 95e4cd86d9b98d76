"""The supervised training loop shared by continued pretraining, SFT and reward-model training.

A `BatchLoss` draws the global batch of a step from a generator seeded by (seed, step), so a
resumed run sees exactly the batches an uninterrupted run would have seen, and N processes see
the rows 1 process sees: each takes its contiguous share (`training.runtime`). A share is cut
into micro-batches whose losses are normalised by the whole batch's count (tokens, positions)
and whose gradients accumulate, so one optimizer step follows the same objective whatever the
micro-batch size and the number of processes. Device placement, data parallelism and sharding
come from `accelerate`: the same code runs on one CPU, one GPU, or under `accelerate launch`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch
from accelerate import Accelerator
from tqdm import tqdm

from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.optim import lr_factor, make_optimizer, set_lr
from training.runtime import (TrainResult, TrainRuntime, autocast, clip_and_step, configure_deepspeed, for_training,
                              full_state_dict, global_sum, is_sharded, loss_scale, rank_share, rows_per_pass,
                              sync_context)
from training.step_log import StepLogger


class NonFiniteLoss(FloatingPointError):
    """Raised when a loss is NaN or inf; the last good checkpoint is left in place."""


class BatchLoss(Protocol):
    """A training objective over batches drawn by step."""

    batch_size: int

    def draw(self, step: int) -> list[Any]:
        """The global batch of `step` (the same list on every process)."""

    def count(self, items: list[Any]) -> float:
        """What the batch loss is a mean over (tokens, scored positions) for these items."""

    def loss(self, model: torch.nn.Module, items: list[Any], total: float | None) -> torch.Tensor:
        """Loss of `items` summed and divided by `total`; total None: the mean over `items`
        (the whole batch in one pass, computed exactly as an unsplit batch always was)."""


def draw_indices(n: int, batch_size: int, seed: int, step: int) -> list[int]:
    """`batch_size` indices into a pool of n, drawn with replacement by a (seed, step) generator:
    the same batch for the same step on every process and after every resume."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randint(n, (batch_size,), generator=gen).tolist()


def micro_batches(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive micro-batches of at most `size` items (0: one batch)."""
    size = len(items) if size <= 0 else size
    return [items[i : i + size] for i in range(0, len(items), size)]


def accumulate(acc: Accelerator, wrapped: torch.nn.Module, objective: BatchLoss, items: list[Any],
               runtime: TrainRuntime, desc: str, step: int) -> float:
    """Backward over this process's share of `items`, micro-batch by micro-batch; returns the
    global batch loss (summed over processes)."""
    world, scale = acc.num_processes, loss_scale(acc)
    mine = items[rank_share(len(items), acc, f"{desc}: batch_size")]
    parts = micro_batches(mine, runtime.micro_batch_size)
    total = None if world == 1 and len(parts) == 1 else objective.count(items)
    value = 0.0
    for i, part in enumerate(parts):
        last = i + 1 == len(parts)
        with sync_context(acc, wrapped, last), autocast(acc.device, runtime.compute_dtype):
            loss = objective.loss(wrapped, part, total)
        if not math.isfinite(loss.item()):
            raise NonFiniteLoss(f"{desc}: loss is {loss.item()} at step {step}; last checkpoint kept")
        # accelerate averages gradients over processes (and DeepSpeed over its accumulation
        # count); the scale turns that average of per-share sums back into the batch's gradient.
        acc.backward(loss * scale if scale > 1 else loss)
        value += loss.item()
    return global_sum(acc, value)


def train(
    model: torch.nn.Module,
    objective: BatchLoss,
    steps: int,
    optim: OptimConfig,
    logger: StepLogger,
    checkpointer: Checkpointer,
    desc: str,
    runtime: TrainRuntime = TrainRuntime(),
) -> TrainResult:
    """Run `steps` optimizer steps on `model` (float32 master weights; see `training.runtime`);
    returns the final logged values, with the gathered state dict to save from."""
    acc = Accelerator()
    for_training(model, runtime).train()
    optimizer = make_optimizer(model, optim)
    share = max(1, objective.batch_size // acc.num_processes)
    rows = rows_per_pass(runtime.micro_batch_size, objective.batch_size, acc.num_processes)
    configure_deepspeed(acc, rows, -(-share // rows), optim.grad_clip)
    wrapped, optimizer, start = prepare_and_resume(acc, model, optimizer, checkpointer)
    last: dict[str, float] = {}
    ema = None
    for step in tqdm(range(start, steps), desc=desc, initial=start, total=steps, mininterval=2,
                     disable=not acc.is_main_process):
        lr = optim.lr * lr_factor(step, steps, optim)
        set_lr(optimizer, lr)
        loss = accumulate(acc, wrapped, objective, objective.draw(step), runtime, desc, step)
        grad_norm = clip_and_step(acc, wrapped, optimizer, optim.grad_clip)
        ema = loss if ema is None else 0.9 * ema + 0.1 * loss
        last = {"loss": loss, "loss_ema": ema, "lr": lr, "grad_norm": grad_norm}
        if acc.is_main_process:
            logger.log(step + 1, last)
        if checkpointer.due(step + 1) and step + 1 < steps:
            save_checkpoint(acc, checkpointer, step + 1, model, optimizer)
    model.eval()
    result = TrainResult(last)
    result.full_state = full_state_dict(acc, wrapped)
    return result


def prepare_and_resume(acc: Accelerator, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                       checkpointer: Checkpointer) -> tuple[torch.nn.Module, torch.optim.Optimizer, int]:
    """Wrap model and optimizer for this run's processes and restore the last checkpoint:
    a replicated model before wrapping, a sharded one (accelerate's state) after it. Returns
    (wrapped model, optimizer, completed steps)."""
    start = 0 if is_sharded(acc) else checkpointer.load(model, optimizer)[0]
    wrapped, optimizer = acc.prepare(model, optimizer)
    if is_sharded(acc):
        start = checkpointer.load_sharded(acc)[0]
    return wrapped, optimizer, start


def save_checkpoint(acc: Accelerator, checkpointer: Checkpointer, step: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, extra: dict | None = None) -> None:
    """The main process writes a replicated model's checkpoint; under sharding every process
    writes its own shards through accelerate (resumed by the same number of processes)."""
    if is_sharded(acc):
        checkpointer.save_sharded(acc, step, extra)
    elif acc.is_main_process:
        checkpointer.save(step, model, optimizer, extra)
    acc.wait_for_everyone()
