"""Iterative RL (§4.1.4, Algorithm 1): alternate GRPO with continued reward-model training.

For each iteration: the reference model becomes the current policy; GRPO runs with the current
process reward model; then the policy's own samples are labelled by Math-Shepherd estimation
(the policy as completer) and the reward model continues training on them plus a replay of 10%
(a param) of all earlier reward-model data. The last iteration's reward-model update is skipped:
nothing would use it. A finished iteration is checkpointed whole (policy, reward model, data
history), so a killed run resumes after its last finished iteration, and inside an iteration
from GRPO's own checkpoint. The drift guard (`rl/guard.py`) watches all iterations as one run;
when it stops the run, no further iteration starts. With held-out reward-model data, the
reward model's quality (held-out AUC, best-of-N reranking of SFT samples) is logged before the
first iteration and after every refresh.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from generation.engine import Engine
from inputs.jsonl import rounded
from rl.config import PROCESS_ADVANTAGES, GRPOConfig, IterativeConfig, RewardModelConfig
from rl.grpo import train_grpo
from rl.guard import AgreementGuard
from rl.reward_model import RMExample, RMLoss, heldout_metrics
from rl.rm_data import from_record, replay_mix, sample_solutions, to_record
from rl.scoring import RewardModelScorer
from rl.shepherd import shepherd_examples
from training.checkpoint import Checkpointer
from training.loop import train
from training.runtime import TrainResult, TrainRuntime
from training.step_log import StepLogger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IterativeSetup:
    grpo: GRPOConfig
    rm: RewardModelConfig
    iterative: IterativeConfig
    advantage: str  # "process" (Fig. 6), a process ablation, or "outcome"
    seed: int
    fingerprint: str
    runtime: TrainRuntime = TrainRuntime()
    engine: Engine | None = None  # rollout and relabelling sampler (None: HF generate on the policy)
    guard: AgreementGuard | None = None  # drift guard over all iterations
    heldout: list[RMExample] = field(default_factory=list)  # reward-model held-out data (quality log)


def relabel(policy: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, problems: list[dict],
            setup: IterativeSetup, it: int) -> list[RMExample]:
    """New reward-model data from the current policy's samples (Math-Shepherd, policy as completer)."""
    gen = torch.Generator().manual_seed(setup.seed * 31 + it)
    chosen = [problems[i] for i in torch.randperm(len(problems), generator=gen)[: setup.iterative.n_questions].tolist()]
    rm = setup.rm
    sols = sample_solutions(policy, tokenizer, chosen, rm.samples_per_question, rm.max_new_tokens, rm.temperature,
                            setup.seed + 1000 * (it + 1), engine=setup.engine)
    return shepherd_examples(policy, tokenizer, sols, rm.shepherd_rollouts, rm.max_new_tokens, rm.temperature,
                             setup.seed + 1000 * (it + 1), rm.shepherd_soft, engine=setup.engine)


def rm_quality(rm: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, heldout: list[RMExample],
               iteration: int) -> dict[str, float]:
    """Held-out AUC and best-of-N accuracy of the reward model as it stands, rounded as metrics are."""
    m = heldout_metrics(rm, heldout, tokenizer.pad_token_id)  # scores in eval mode
    out = {"iteration": iteration, "auc": m["auc"], "auc_within_question": m["auc_within_question"],
           "best_of_n": m["best_of_n"], "random_of_n": m["random_of_n"]}
    return rounded(out)


def iterative_rl(policy: PreTrainedModel, rm: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 problems: list[dict], history: list[RMExample], setup: IterativeSetup,
                 logger: StepLogger, root: Path | None) -> TrainResult:
    """Run all iterations in place on `policy` and `rm`; returns the last logged GRPO values,
    the guard's summary and `rm_quality_by_iteration` (when held-out data is given)."""
    it_cfg, last = setup.iterative, {}
    start = 0
    quality: list[dict] = []
    done_path = root / "iterations.pt" if root else None
    if done_path and done_path.is_file():
        state = torch.load(done_path, weights_only=False)
        if state["fingerprint"] == setup.fingerprint:
            policy.load_state_dict(state["policy"])
            rm.load_state_dict(state["rm"])
            history, start = [from_record(r) for r in state["history"]], state["done"]
            quality = state.get("quality", [])
            log.info("iterative RL: resuming after iteration %d of %d", start, it_cfg.iterations)
        else:
            log.warning("iterative RL: ignoring %s: it was written with other settings; starting over", done_path)
    if setup.heldout and not quality:
        quality.append(rm_quality(rm, tokenizer, setup.heldout, 0))
    grpo_cfg = replace(setup.grpo, steps=it_cfg.steps_per_iteration)
    guard = setup.guard
    for it in range(start, it_cfg.iterations):
        ref = copy.deepcopy(policy).eval() if grpo_cfg.beta > 0 else None  # Algorithm 1: pi_ref <- pi_theta
        logger.offset = it * it_cfg.steps_per_iteration
        if guard is not None:
            guard.offset = logger.offset
        ckpt = Checkpointer(root / f"iter{it}" if root else None, grpo_cfg.checkpoint_every, setup.fingerprint)
        scorer = RewardModelScorer(rm, tokenizer, process=setup.advantage in PROCESS_ADVANTAGES,
                                   shared_prompt=setup.runtime.shared_prompt)
        last = train_grpo(policy, ref, tokenizer, problems, grpo_cfg, setup.advantage, scorer, setup.seed + it, logger, ckpt,
                          setup.runtime, setup.engine, guard)
        if guard is not None and guard.stopped_at is not None:
            log.warning("iterative RL: stopped by the drift guard in iteration %d", it + 1)
            break
        if it + 1 < it_cfg.iterations:
            new = relabel(policy, tokenizer, problems, setup, it)
            mixed = replay_mix(new, history, it_cfg.replay_ratio, setup.seed + it)
            history = history + new
            rm.train()
            train(rm, RMLoss(mixed, setup.rm.batch_size, tokenizer.pad_token_id, setup.seed + it),
                  it_cfg.rm_steps_per_iteration, setup.rm.optim, StepLogger(None, 10**9, 1), Checkpointer(None, 0, ""),
                  f"reward_model iter {it + 1}", replace(setup.runtime, micro_batch_size=setup.rm.micro_batch_size))
            rm.eval()
            if setup.heldout:
                quality.append(rm_quality(rm, tokenizer, setup.heldout, it + 1))
                log.info("iterative RL: reward model after refresh %d: %s", it + 1, quality[-1])
        if done_path:
            done_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"fingerprint": setup.fingerprint, "done": it + 1, "policy": policy.state_dict(),
                        "rm": rm.state_dict(), "history": [to_record(e) for e in history], "quality": quality},
                       done_path.with_suffix(".tmp"))
            done_path.with_suffix(".tmp").replace(done_path)
    result = TrainResult(last)
    result.full_state = getattr(last, "full_state", None)  # the gathered state of a sharded policy
    if quality:
        result["rm_quality_by_iteration"] = quality
    return result
