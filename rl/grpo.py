"""The online RL loop of the unified paradigm (§4.1, §5.2.1): GRPO and Online RFT.

Each step: draw `questions_per_step` training questions (seeded by step), sample G outputs each
from pi_old, score them (rule grader, ORM or PRM: `rl/scoring.py`), turn the rewards into
per-token coefficients with the registered estimator, then run `mu` updates of the clipped
objective with the k3 KL to pi_ref. Iterative RL (`rl/iterative.py`) calls this loop per iteration.
With mu = 1, pi_old is the policy before the update, so its log-probs equal the detached current
ones and the extra forward pass is skipped (the ratio is then exactly 1, as in the paper).
"""

from __future__ import annotations

import contextlib
import math

import torch
from accelerate import Accelerator
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from rl.advantages import FLAT_GROUPS_GIVE_ZERO, Rewards, get_estimator, zero_std_groups
from rl.config import GRPOConfig
from rl.loss import grpo_loss, token_weights
from rl.rollout import RolloutBatch, sample_group, token_logprobs
from rl.scoring import Scored, Scorer
from training.checkpoint import Checkpointer
from training.optim import clip_and_step, lr_factor, make_optimizer, set_lr
from training.step_log import StepLogger


class NonFiniteError(FloatingPointError):
    """NaN or inf in rewards or loss: the stage stops, the last good checkpoint is kept."""


def draw_questions(problems: list[dict], n: int, seed: int, step: int) -> list[dict]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return [problems[i] for i in torch.randperm(len(problems), generator=gen)[:n].tolist()]


def chunked_logprobs(model: PreTrainedModel, chunks: list[tuple[torch.Tensor, RolloutBatch]],
                     like: torch.Tensor) -> torch.Tensor:
    """(B, T) token log-probs of the whole batch, computed micro-batch by micro-batch (no grad)."""
    out = torch.zeros_like(like, dtype=torch.float32)
    for rows, sub in chunks:
        logp = token_logprobs(model, sub)
        out[rows, : logp.shape[1]] = logp
    return out


def _cut(t: torch.Tensor | None, rows: torch.Tensor, width: int) -> torch.Tensor | None:
    """The part of a (B, T) tensor that belongs to one trimmed micro-batch."""
    return None if t is None else t[rows, :width]


def update(policy: PreTrainedModel, ref: PreTrainedModel | None, batch: RolloutBatch, adv: torch.Tensor,
           cfg: GRPOConfig, optimizer: torch.optim.Optimizer, acc: Accelerator) -> dict[str, float]:
    """mu policy updates on one rollout batch; returns the last update's diagnostics.

    Each update accumulates gradients over micro-batches of `cfg.micro_batch_size` rows of
    similar length, trimmed of padding; token weights come from the whole batch, so the summed
    micro-batch losses equal the full-batch loss (`rl/loss.py`, `token_weights`).
    """
    mask = batch.completion_mask
    chunks = batch.micro_batches(cfg.micro_batch_size)
    with torch.no_grad():
        ref_logp = chunked_logprobs(ref, chunks, mask) if ref is not None and cfg.beta > 0 else None
        old_logp = chunked_logprobs(policy, chunks, mask) if cfg.mu > 1 else None
    weights = token_weights(mask, cfg.loss_aggregation)
    policy.train()
    for _ in range(cfg.mu):
        loss_sum, sums = 0.0, torch.zeros(3)
        for i, (rows, sub) in enumerate(chunks):
            width = sub.completion_mask.shape[1]
            # Gradients are all-reduced once, on the last micro-batch (every rank has as many).
            with acc.no_sync(policy) if i + 1 < len(chunks) else contextlib.nullcontext():
                logp = token_logprobs(policy, sub)
                old = logp.detach() if old_logp is None else _cut(old_logp, rows, width)
                loss, stats = grpo_loss(logp, old, _cut(ref_logp, rows, width), _cut(adv, rows, width),
                                        sub.completion_mask, cfg.clip_eps, cfg.beta, weights=_cut(weights, rows, width))
                if not math.isfinite(loss.item()):
                    raise NonFiniteError(f"GRPO loss is {loss.item()}; last checkpoint kept")
                loss.backward()
            n = float(sub.completion_mask.sum())  # a Python float: `sums` stays on the CPU whatever the device
            loss_sum += loss.item()
            sums += n * torch.tensor([stats.kl, stats.clip_frac, stats.ratio_mean])
        grad_norm = clip_and_step(policy, optimizer, cfg.optim.grad_clip)
    policy.eval()
    kl, clip_frac, ratio_mean = (sums / max(float(mask.sum()), 1.0)).tolist()
    # The advantage as the loss weighs it: about 0 for outcome coefficients; a negative value
    # pushes down the sampled tokens overall (entropy rises), as process sums can when step
    # rewards fall along a solution.
    adv_mean = float((weights * adv).sum())
    return {"loss": loss_sum, "grad_norm": grad_norm, "kl": kl, "clip_frac": clip_frac, "ratio_mean": ratio_mean,
            "adv_mean": adv_mean}


def select_rewards(r: Rewards, keep: torch.Tensor) -> Rewards:
    """The rows of `r` where `keep` is True."""
    if r.step_rewards is None:
        return Rewards(r.outcome[keep])
    return Rewards(r.outcome[keep], r.step_rewards[keep], r.step_ends[keep], r.step_mask[keep])


def step_values(scored: Scored, flat: torch.Tensor, batch: RolloutBatch, lr: float) -> dict[str, float]:
    """What is logged every step, before the update's own diagnostics."""
    reward, correct = scored.rewards.outcome, scored.correct
    return {"reward_mean": reward.mean().item(), "reward_std": reward.std().item(),
            "accuracy": correct.mean().item(),
            "rm_rule_agreement": ((reward > 0.5) == (correct > 0.5)).float().mean().item(),
            "zero_std_frac": flat.float().mean().item(), "lr": lr,
            "response_len": batch.completion_mask.sum(-1).mean().item()}


def train_grpo(policy: PreTrainedModel, ref: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase,
               problems: list[dict], cfg: GRPOConfig, advantage: str, scorer: Scorer, seed: int,
               logger: StepLogger, checkpointer: Checkpointer) -> dict[str, float]:
    """Train `policy` in place; returns the last step's logged values.

    `problems` are normalised problems with their rendered `prompt` (`evaluation.prompts.
    with_prompts`) and gold `answer`. `advantage` names a registered gradient coefficient;
    `scorer` gives the rewards (rule, ORM or PRM). Online RFT is this loop with the `rft`
    coefficient and beta = 0 (Table 10).
    """
    estimator = get_estimator(advantage)
    acc = Accelerator()
    rank, world = acc.process_index, acc.num_processes
    if cfg.questions_per_step % world:
        raise ValueError(f"questions_per_step: {cfg.questions_per_step} is not divisible by {world} processes")
    # With several processes every rank must run the same backward passes, so no group is skipped.
    skip_flat = cfg.skip_zero_std_groups and advantage in FLAT_GROUPS_GIVE_ZERO and world == 1
    optimizer = make_optimizer(policy, cfg.optim)
    start, _ = checkpointer.load(policy, optimizer)
    wrapped, optimizer = acc.prepare(policy, optimizer)
    if ref is not None:
        ref.to(acc.device).eval().requires_grad_(False)
    per_rank = cfg.questions_per_step // world
    last: dict[str, float] = {}
    for step in tqdm(range(start, cfg.steps), desc="grpo", initial=start, total=cfg.steps, mininterval=2,
                     disable=not acc.is_main_process):
        lr = cfg.optim.lr * lr_factor(step, cfg.steps, cfg.optim)
        set_lr(optimizer, lr)
        questions = draw_questions(problems, cfg.questions_per_step, seed, step)[rank * per_rank : (rank + 1) * per_rank]
        batch = sample_group(policy, tokenizer, [q["prompt"] for q in questions],
                             cfg.group_size, cfg.max_new_tokens, cfg.temperature, cfg.top_p,
                             seed * 7919 + step + rank * 104_729)
        golds = [q["answer"] for q in questions for _ in range(cfg.group_size)]
        scored = scorer(batch, golds)
        steps_r = scored.rewards.step_rewards
        if not torch.isfinite(scored.rewards.outcome).all() or (steps_r is not None and not torch.isfinite(steps_r).all()):
            raise NonFiniteError(f"non-finite reward at step {step}")
        flat = zero_std_groups(scored.rewards.outcome, batch.groups)
        values = step_values(scored, flat, batch, lr)
        keep = ~flat if skip_flat else torch.ones_like(flat)
        if keep.any():
            sub = batch.select(keep)
            kept = rewards_to(select_rewards(scored.rewards, keep), sub.completion_mask.device)
            adv = estimator(kept, sub.groups, sub.completion_mask, cfg.std_eps, cfg.scale_by_std)
            values |= update(wrapped, ref, sub, adv, cfg, optimizer, acc)
        values = mean_over_processes(acc, values)
        if acc.is_main_process:
            logger.log(step + 1, values)
            if checkpointer.due(step + 1) and step + 1 < cfg.steps:
                checkpointer.save(step + 1, policy, optimizer)
        last = values
    return last


def rewards_to(r: Rewards, device: torch.device) -> Rewards:
    move = lambda t: None if t is None else t.to(device)  # noqa: E731
    return Rewards(r.outcome.to(device), move(r.step_rewards), move(r.step_ends), move(r.step_mask))


def mean_over_processes(acc: Accelerator, values: dict[str, float]) -> dict[str, float]:
    """Average the logged scalars over processes (identity with one process)."""
    if acc.num_processes == 1:
        return values
    keys = sorted(values)
    mean = acc.reduce(torch.tensor([values[k] for k in keys], device=acc.device), reduction="mean")
    return dict(zip(keys, mean.tolist()))
