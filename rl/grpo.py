"""The online RL loop of the unified paradigm (§4.1, §5.2.1): GRPO and Online RFT.

Each step: draw `questions_per_step` training questions (seeded by step), sample G outputs each
from pi_old, score them (rule grader, ORM or PRM: `rl/scoring.py`), turn the rewards into
per-token coefficients with the registered estimator, then run `mu` updates of the clipped
objective with the k3 KL to pi_ref. Iterative RL (`rl/iterative.py`) calls this loop per iteration.
With mu = 1, pi_old is the policy before the update, so its log-probs equal the detached current
ones and the extra forward pass is skipped (the ratio is then exactly 1, as in the paper).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType, gather_object
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from generation.engine import Engine, SamplingSpec
from rl.advantages import FLAT_GROUPS_GIVE_ZERO, AdvantageOptions, Rewards, get_estimator, zero_std_groups
from rl.config import GRPOConfig
from rl.guard import AgreementGuard
from rl.loss import grpo_loss, token_weights
from rl.rollout import RolloutBatch, batch_from_samples, sample_group, token_logprobs
from rl.shared_prompt import group_starts, shared_prompt_logprobs
from rl.scoring import Scored, Scorer
from training.checkpoint import Checkpointer
from training.loop import prepare_and_resume, save_checkpoint
from training.optim import lr_factor, make_optimizer, set_lr
from training.runtime import (TrainResult, TrainRuntime, autocast, clip_and_step, configure_deepspeed, for_training,
                              full_state_dict, global_sum, loss_scale, rank_share, sync_context)
from training.step_log import StepLogger


log = logging.getLogger(__name__)


class NonFiniteError(FloatingPointError):
    """NaN or inf in rewards or loss: the stage stops, the last good checkpoint is kept."""


def draw_questions(problems: list[dict], n: int, seed: int, step: int) -> list[dict]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return [problems[i] for i in torch.randperm(len(problems), generator=gen)[:n].tolist()]


def part_logprobs(model: PreTrainedModel, batch: RolloutBatch, runtime: TrainRuntime) -> torch.Tensor:
    """(B, T) token log-probs of one micro-batch, each group's prompt run once when
    `runtime.shared_prompt` and the rows come in runs of one group (the same values up to float
    summation order)."""
    if runtime.shared_prompt and group_starts(batch) is not None:
        return shared_prompt_logprobs(model, batch)
    return token_logprobs(model, batch)


def chunked_logprobs(model: PreTrainedModel, parts: list[Part], like: torch.Tensor,
                     runtime: TrainRuntime) -> torch.Tensor:
    """(B, T) token log-probs of this process's rows, micro-batch by micro-batch (no grad)."""
    out = torch.zeros_like(like, dtype=torch.float32)
    for part in parts:
        with autocast(like.device, runtime.compute_dtype):
            logp = part_logprobs(model, part.batch, runtime)
        if part.real:
            out[part.rows, : logp.shape[1]] = logp
    return out


def _cut(t: torch.Tensor | None, rows: torch.Tensor, width: int) -> torch.Tensor | None:
    """The part of a (B, T) tensor that belongs to one trimmed micro-batch."""
    return None if t is None else t[rows, :width]


@dataclass(frozen=True)
class Part:
    """One micro-batch of this process: row indices into the global batch and the trimmed rows.
    A padding part (`real` False) repeats a row with zero weight, so that every process runs as
    many forward/backward passes as the busiest one (FSDP gathers weights in lockstep)."""

    rows: torch.Tensor
    batch: RolloutBatch
    real: bool = True


def process_parts(batch: RolloutBatch, micro_batch_size: int, n_questions: int, acc: Accelerator,
                  group_size: int = 1, by_group: bool = False) -> list[Part]:
    """This process's micro-batches: the rows of its share of the step's questions, cut like the
    1-process batch, padded to the number of passes of the busiest process (under DeepSpeed to
    the count of a full batch, which its accumulation boundary is fixed to). by_group: whole
    groups per micro-batch (`RolloutBatch.micro_batches`), except under DeepSpeed, whose count of
    micro-batches is fixed in rows."""
    world = acc.num_processes
    deepspeed = acc.distributed_type == DistributedType.DEEPSPEED
    by_group = by_group and not deepspeed
    if world == 1 and not deepspeed:
        return [Part(rows, sub) for rows, sub in batch.micro_batches(micro_batch_size, by_group)]
    per = n_questions // world
    owner = torch.div(batch.groups, per, rounding_mode="floor")  # the process that owns each row
    counts = torch.bincount(owner.cpu(), minlength=world).tolist()
    size = micro_batch_size if micro_batch_size > 0 else max(max(counts), 1)
    n_parts = max(1, max(-(-c // size) for c in counts))
    if by_group:  # whole groups: max(1, size // group_size) of them per part (micro_batches)
        n_parts = max(1, max(-(-(c // group_size) // max(1, size // group_size)) for c in counts))
    if deepspeed:
        n_parts = -(-(n_questions * group_size // world) // size)
    mine = (owner == acc.process_index).nonzero().flatten()
    parts = []
    if len(mine):
        local = batch.select(owner == acc.process_index)
        parts = [Part(mine[rows], sub) for rows, sub in local.micro_batches(size, by_group)]
    while len(parts) < n_parts:
        first = torch.zeros(1, dtype=torch.long, device=batch.groups.device)
        parts.append(Part(first, batch.trimmed(first), real=False))
    return parts


def update(policy: PreTrainedModel, ref: PreTrainedModel | None, batch: RolloutBatch, adv: torch.Tensor,
           cfg: GRPOConfig, optimizer: torch.optim.Optimizer, acc: Accelerator,
           runtime: TrainRuntime = TrainRuntime(), weights: torch.Tensor | None = None) -> dict[str, float]:
    """mu policy updates on one (global) rollout batch; returns the last update's diagnostics.

    Each update accumulates gradients over micro-batches of `cfg.micro_batch_size` rows of
    similar length, trimmed of padding; token weights come from the whole global batch, so the
    micro-batch losses of all processes sum to the full-batch loss (`rl/loss.py`,
    `token_weights`), and scaling each process's loss by the world size undoes accelerate's
    gradient averaging. `weights` (rows of `batch`): token weights computed on a larger batch
    that `batch` was selected from, so that dropping rows does not reweigh the others.
    """
    mask = batch.completion_mask
    world, scale = acc.num_processes, loss_scale(acc)
    parts = process_parts(batch, cfg.micro_batch_size, cfg.questions_per_step, acc, cfg.group_size,
                          by_group=runtime.shared_prompt)
    with torch.no_grad():
        ref_logp = chunked_logprobs(ref, parts, mask, runtime) if ref is not None and cfg.beta > 0 else None
        old_logp = chunked_logprobs(policy, parts, mask, runtime) if cfg.mu > 1 else None
    weights = token_weights(mask, cfg.loss_aggregation) if weights is None else weights
    policy.train()
    for _ in range(cfg.mu):
        loss_sum, sums = 0.0, torch.zeros(3)
        for i, part in enumerate(parts):
            rows, sub = part.rows, part.batch
            width = sub.completion_mask.shape[1]
            w = _cut(weights, rows, width) if part.real else torch.zeros_like(sub.completion_mask)
            # Gradients are all-reduced once, on the last micro-batch (every rank has as many).
            with sync_context(acc, policy, last=i + 1 == len(parts)):
                with autocast(mask.device, runtime.compute_dtype):
                    logp = part_logprobs(policy, sub, runtime)
                old = logp.detach() if old_logp is None else _cut(old_logp, rows, width)
                loss, stats = grpo_loss(logp, old, _cut(ref_logp, rows, width), _cut(adv, rows, width),
                                        sub.completion_mask, cfg.clip_eps, cfg.beta, weights=w)
                if not math.isfinite(loss.item()):
                    raise NonFiniteError(f"GRPO loss is {loss.item()}; last checkpoint kept")
                acc.backward(loss * scale if scale > 1 else loss)  # see training.runtime.loss_scale
            if part.real:
                n = float(sub.completion_mask.sum())  # a Python float: `sums` stays on the CPU whatever the device
                loss_sum += loss.item()
                sums += n * torch.tensor([stats.kl, stats.clip_frac, stats.ratio_mean])
        grad_norm = clip_and_step(acc, policy, optimizer, cfg.optim.grad_clip)
    policy.eval()
    if world > 1:  # each process saw its own rows: the batch's values are sums over processes
        loss_sum = global_sum(acc, loss_sum)
        sums = torch.tensor([global_sum(acc, float(v)) for v in sums])
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
    values = {"reward_mean": reward.mean().item(), "reward_std": reward.std().item(),
              "accuracy": correct.mean().item(),
              "rm_rule_agreement": ((scored.verdict > 0.5) == (correct > 0.5)).float().mean().item(),
              "zero_std_frac": flat.float().mean().item(), "lr": lr,
              "response_len": batch.completion_mask.sum(-1).mean().item()}
    if scored.rewards.step_mask is not None:  # process rewards: how finely the PRM cuts an output
        values["steps_per_output"] = scored.rewards.step_mask.sum(-1).mean().item()
    return values


def train_grpo(policy: PreTrainedModel, ref: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase,
               problems: list[dict], cfg: GRPOConfig, advantage: str, scorer: Scorer, seed: int,
               logger: StepLogger, checkpointer: Checkpointer, runtime: TrainRuntime = TrainRuntime(),
               engine: Engine | None = None, guard: AgreementGuard | None = None) -> TrainResult:
    """Train `policy` in place; returns the last step's logged values (and the gathered state).

    `problems` are normalised problems with their rendered `prompt` (`evaluation.prompts.
    with_prompts`) and gold `answer`. `advantage` names a registered gradient coefficient;
    `scorer` gives the rewards (rule, ORM or PRM). Online RFT is this loop with the `rft`
    coefficient and beta = 0 (Table 10). `engine` samples the rollouts (None: HF generate on the
    policy itself); an engine with its own copy of the weights (vLLM) receives the policy's
    weights after every optimizer step and sleeps while the trainer updates. `guard` stops a
    run whose reward model drifted from the rule grader and restores the last good policy
    (`rl/guard.py`); the result then says where (`stopped_early`, `stop_step`, `kept_step`).

    Groups whose outcome rewards are all equal are skipped when `cfg.skip_zero_std_groups` and
    the estimator gives them a zero advantage; every other output keeps the weight it has in
    the whole batch (1/B under `sequence_mean`), so skipping saves compute without changing the
    advantage term's step size. Departure: the skipped rows' KL term is dropped with them.

    Several processes: every process holds the step's whole rollout batch, sampled as one
    process would sample it (`sample_rollouts`), so N processes follow the 1-process run;
    every process scores it (a group needs all its rewards), then updates on the rows of its
    share of the questions, with token weights of the global batch.
    """
    estimator = get_estimator(advantage)
    acc = Accelerator()
    rank_share(cfg.questions_per_step, acc, "questions_per_step")  # checks divisibility up front
    skip_flat = cfg.skip_zero_std_groups and advantage in FLAT_GROUPS_GIVE_ZERO
    for_training(policy, runtime)
    optimizer = make_optimizer(policy, cfg.optim)
    if acc.distributed_type == DistributedType.DEEPSPEED:
        if cfg.micro_batch_size < 1:
            raise ValueError("grpo.micro_batch_size: DeepSpeed needs a fixed micro-batch size (> 0)")
        rows = cfg.questions_per_step * cfg.group_size // acc.num_processes
        configure_deepspeed(acc, cfg.micro_batch_size, -(-rows // cfg.micro_batch_size), cfg.optim.grad_clip)
    wrapped, optimizer, start = prepare_and_resume(acc, policy, optimizer, checkpointer)
    if ref is not None:
        ref.to(acc.device).eval().requires_grad_(False)
    if guard is not None:
        guard.start(wrapped, start)
    options = AdvantageOptions(cfg.std_eps, cfg.scale_by_std, cfg.process_weight)
    last: dict[str, float] = {}
    for step in tqdm(range(start, cfg.steps), desc="grpo", initial=start, total=cfg.steps, mininterval=2,
                     disable=not acc.is_main_process):
        lr = cfg.optim.lr * lr_factor(step, cfg.steps, cfg.optim)
        set_lr(optimizer, lr)
        questions = draw_questions(problems, cfg.questions_per_step, seed, step)
        if engine is not None:
            engine.wake()
            engine.load_weights(policy_weights(acc, wrapped))
        batch = sample_rollouts(policy, tokenizer, [q["prompt"] for q in questions], cfg, seed * 7919 + step,
                                engine, acc)
        if engine is not None:
            engine.sleep()
        golds = [q["answer"] for q in questions for _ in range(cfg.group_size)]
        # Our scorers return tensors on the batch's device already; a user's scorer may not, and
        # group masks index rewards there, so they are moved (a no-op when already in place).
        scored = scorer(batch, golds)
        device = batch.groups.device
        scored = Scored(rewards_to(scored.rewards, device), scored.correct.to(device),
                        None if scored.model_outcome is None else scored.model_outcome.to(device))
        steps_r = scored.rewards.step_rewards
        if not torch.isfinite(scored.rewards.outcome).all() or (steps_r is not None and not torch.isfinite(steps_r).all()):
            raise NonFiniteError(f"non-finite reward at step {step}")
        flat = zero_std_groups(scored.rewards.outcome, batch.groups)
        values = step_values(scored, flat, batch, lr)
        if guard is not None and guard.check(step + 1, values["rm_rule_agreement"]):
            kept_step = guard.restore(wrapped)
            if acc.is_main_process:
                logger.log(step + 1, values, force=True)
                log.warning("grpo: %s at step %d; stopped, policy of step %d kept",
                            guard.summary()["stop_reason"], step + 1, kept_step)
            last = values
            break
        keep = ~flat if skip_flat else torch.ones_like(flat)
        if keep.any():
            sub = batch.select(keep)
            kept = select_rewards(scored.rewards, keep)
            adv = estimator(kept, sub.groups, sub.completion_mask, options)
            weights = token_weights(batch.completion_mask, cfg.loss_aggregation)[keep]  # 1/B, not 1/B_kept
            values |= update(wrapped, ref, sub, adv, cfg, optimizer, acc, runtime, weights)
        if guard is not None:
            guard.after_update(wrapped, step + 1)
        if acc.is_main_process:
            logger.log(step + 1, values)
        if checkpointer.due(step + 1) and step + 1 < cfg.steps:
            save_checkpoint(acc, checkpointer, step + 1, policy, optimizer)
        last = values
    result = TrainResult({**last, **(guard.summary() if guard is not None and guard.enabled else {})})
    result.full_state = full_state_dict(acc, wrapped)
    return result


def sample_rollouts(policy: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: list[str],
                    cfg: GRPOConfig, seed: int, engine: Engine | None, acc: Accelerator) -> RolloutBatch:
    """The step's global rollout batch, on every process.

    HF generate (engine None) samples all prompts on every process with the 1-process seed: its
    random stream runs across a whole batch, so splitting it would change the samples. An engine
    that seeds each prompt on its own (vLLM: seed + global prompt index) lets each process sample
    only its share; the samples are then gathered, identical to one process sampling them all.
    """
    if engine is None or acc.num_processes == 1:
        return sample_group(policy, tokenizer, prompts, cfg.group_size, cfg.max_new_tokens, cfg.temperature,
                            cfg.top_p, seed, engine=engine)
    share = rank_share(len(prompts), acc, "questions_per_step")
    ids = tokenizer(prompts[share], add_special_tokens=False)["input_ids"]
    spec = SamplingSpec(cfg.group_size, cfg.temperature, cfg.top_p, cfg.max_new_tokens, seed)
    samples = gather_object(engine.sample(ids, spec, offset=share.start))  # rank order = prompt order
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return batch_from_samples(samples, pad_id, tokenizer.eos_token_id, acc.device)


def policy_weights(acc: Accelerator, wrapped: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, tensor) pairs of the whole policy for a sampling engine, lazily: an FSDP2 shard
    is all-gathered one tensor at a time (every process iterates in the same order), so the
    full model never sits twice in memory."""
    if acc.distributed_type == DistributedType.DEEPSPEED:
        yield from acc.get_state_dict(wrapped).items()  # ZeRO-3 gathers 16-bit weights on every rank
        return
    for name, tensor in acc.unwrap_model(wrapped).state_dict().items():
        yield name, tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def rewards_to(r: Rewards, device: torch.device) -> Rewards:
    move = lambda t: None if t is None else t.to(device)  # noqa: E731
    return Rewards(r.outcome.to(device), move(r.step_rewards), move(r.step_ends), move(r.step_mask))
