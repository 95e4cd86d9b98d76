"""The supervised training loop shared by continued pretraining, SFT and reward-model training.

`batch_loss(model, step, rank)` must draw its batch from a generator seeded by the step (and the
process rank), so a resumed run sees exactly the batches an uninterrupted run would have seen.
Device placement and multi-process data parallelism come from `accelerate`: the same code runs on
one CPU, one GPU, or under `accelerate launch` with several processes (each draws its own batch;
gradients are averaged), and only the main process writes checkpoints and logs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from accelerate import Accelerator
from tqdm import tqdm

from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.optim import clip_and_step, lr_factor, make_optimizer, set_lr
from training.step_log import StepLogger


class NonFiniteLoss(FloatingPointError):
    """Raised when a loss is NaN or inf; the last good checkpoint is left in place."""


def train(
    model: torch.nn.Module,
    batch_loss: Callable[[torch.nn.Module, int, int], torch.Tensor],
    steps: int,
    optim: OptimConfig,
    logger: StepLogger,
    checkpointer: Checkpointer,
    desc: str,
) -> dict[str, float]:
    """Run `steps` optimizer steps; returns the final logged values."""
    acc = Accelerator()
    model.train()
    optimizer = make_optimizer(model, optim)
    start, _ = checkpointer.load(model, optimizer)
    wrapped, optimizer = acc.prepare(model, optimizer)
    last: dict[str, float] = {}
    ema = None
    for step in tqdm(range(start, steps), desc=desc, initial=start, total=steps, mininterval=2,
                     disable=not acc.is_main_process):
        lr = optim.lr * lr_factor(step, steps, optim)
        set_lr(optimizer, lr)
        loss = batch_loss(wrapped, step, acc.process_index)
        if not math.isfinite(loss.item()):
            raise NonFiniteLoss(f"{desc}: loss is {loss.item()} at step {step}; last checkpoint kept")
        acc.backward(loss)
        grad_norm = clip_and_step(model, optimizer, optim.grad_clip)
        ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        last = {"loss": loss.item(), "loss_ema": ema, "lr": lr, "grad_norm": grad_norm}
        if acc.is_main_process:
            logger.log(step + 1, last)
            if checkpointer.due(step + 1) and step + 1 < steps:
                checkpointer.save(step + 1, model, optimizer)
    model.eval()
    return last
