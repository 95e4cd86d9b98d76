"""The GRPO training loop (§4.1, Algorithm 1 with one iteration and a rule reward).

Each step: draw `questions_per_step` training questions (seeded by step), sample G outputs each
from pi_old, grade them with the shared grader, turn rewards into per-token advantages with the
registered estimator, then run `mu` updates of the clipped objective with the k3 KL to pi_ref.
With mu = 1, pi_old is the policy before the update, so its log-probs equal the detached current
ones and the extra forward pass is skipped (the ratio is then exactly 1, as in the paper).
"""

from __future__ import annotations

import math
from dataclasses import asdict

import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evaluation.prompts import gold_answer, synthetic_prompt
from rl.advantages import Rewards, get_estimator, zero_std_groups
from rl.config import GRPOConfig
from rl.loss import grpo_loss
from rl.rewards import rule_rewards
from rl.rollout import RolloutBatch, sample_group, token_logprobs
from training.checkpoint import Checkpointer
from training.optim import clip_and_step, lr_factor, make_optimizer, set_lr
from training.step_log import StepLogger


class NonFiniteError(FloatingPointError):
    """NaN or inf in rewards or loss: the stage stops, the last good checkpoint is kept."""


def draw_questions(problems: list[dict], n: int, seed: int, step: int) -> list[dict]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return [problems[i] for i in torch.randperm(len(problems), generator=gen)[:n].tolist()]


def update(policy: PreTrainedModel, ref: PreTrainedModel | None, batch: RolloutBatch, adv: torch.Tensor,
           cfg: GRPOConfig, optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """mu policy updates on one rollout batch; returns the last update's diagnostics."""
    with torch.no_grad():
        ref_logp = token_logprobs(ref, batch) if ref is not None and cfg.beta > 0 else None
        old_logp = token_logprobs(policy, batch) if cfg.mu > 1 else None
    policy.train()
    for _ in range(cfg.mu):
        logp = token_logprobs(policy, batch)
        old = logp.detach() if old_logp is None else old_logp
        loss, stats = grpo_loss(logp, old, ref_logp, adv, batch.completion_mask, cfg.clip_eps, cfg.beta,
                                cfg.loss_aggregation)
        if not math.isfinite(loss.item()):
            raise NonFiniteError(f"GRPO loss is {loss.item()}; last checkpoint kept")
        loss.backward()
        grad_norm = clip_and_step(policy, optimizer, cfg.optim.grad_clip)
    policy.eval()
    return {"loss": loss.item(), "grad_norm": grad_norm, **asdict(stats)}


def train_grpo(policy: PreTrainedModel, ref: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase,
               problems: list[dict], cfg: GRPOConfig, advantage: str, seed: int,
               logger: StepLogger, checkpointer: Checkpointer) -> dict[str, float]:
    """Train `policy` in place; returns the last step's logged values."""
    estimator = get_estimator(advantage)
    if ref is not None:
        ref.eval().requires_grad_(False)
    optimizer = make_optimizer(policy, cfg.optim)
    start, _ = checkpointer.load(policy, optimizer)
    last: dict[str, float] = {}
    for step in tqdm(range(start, cfg.steps), desc="grpo", initial=start, total=cfg.steps, mininterval=2):
        lr = cfg.optim.lr * lr_factor(step, cfg.steps, cfg.optim)
        set_lr(optimizer, lr)
        questions = draw_questions(problems, cfg.questions_per_step, seed, step)
        batch = sample_group(policy, tokenizer, [synthetic_prompt(q["question"]) for q in questions],
                             cfg.group_size, cfg.max_new_tokens, cfg.temperature, cfg.top_p, seed * 7919 + step)
        golds = [gold_answer(q["answer"]) for q in questions for _ in range(cfg.group_size)]
        rewards = torch.tensor(rule_rewards(batch.completions, golds))
        if not torch.isfinite(rewards).all():
            raise NonFiniteError(f"non-finite reward at step {step}")
        flat = zero_std_groups(rewards, batch.groups)
        values = {"reward_mean": rewards.mean().item(), "reward_std": rewards.std().item(),
                  "zero_std_frac": flat.float().mean().item(), "lr": lr,
                  "response_len": batch.completion_mask.sum(-1).mean().item()}
        keep = ~flat if cfg.skip_zero_std_groups else torch.ones_like(flat)
        if keep.any():
            sub = batch.select(keep)
            adv = estimator(Rewards(rewards[keep]), sub.groups, sub.completion_mask, cfg.std_eps, cfg.scale_by_std)
            values |= update(policy, ref, sub, adv, cfg, optimizer)
        logger.log(step + 1, values)
        last = values
        if checkpointer.due(step + 1) and step + 1 < cfg.steps:
            checkpointer.save(step + 1, policy, optimizer)
    return last
