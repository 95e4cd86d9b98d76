"""Typed config of the GRPO stage; defaults of the real profile follow §4.2 of the paper."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from training.config import OptimConfig


@dataclass(frozen=True)
class ModelRewardConfig:
    """Settings of the methods rewarded by a trained reward model (ORM, PRM, iterative RL), which
    replace the rule-reward ones; chosen by the measured sweep in reports/sweep.md."""

    lr: float  # policy learning rate (paper: 1e-6 for every RL run)
    beta: float  # KL weight (paper: 0.04)
    steps: int  # exploration steps of a single-pass run
    min_agreement: float  # stop when the RM-rule agreement of the samples, averaged over the
    # window, falls below this, keeping the last good policy (0 disables the guard)
    agreement_window: int  # steps averaged by the guard, and the interval of its policy snapshots

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr: must be > 0, got {self.lr}")
        if self.beta < 0:
            raise ValueError(f"beta: must be >= 0, got {self.beta}")
        for name in ("steps", "agreement_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.min_agreement <= 1:
            raise ValueError(f"min_agreement: must be in [0, 1], got {self.min_agreement}")


@dataclass(frozen=True)
class GRPOConfig:
    """Group Relative Policy Optimization with a rule-based reward (§4.1)."""

    steps: int  # exploration steps (each: sample, score, mu updates)
    questions_per_step: int  # questions sampled per step; outputs per step = this x group_size
    group_size: int  # G: outputs sampled per question from pi_old (paper: 64)
    max_new_tokens: int  # completion length cap (paper: max length 1024)
    temperature: float  # sampling temperature of the rollouts (not stated in the paper)
    top_p: float  # nucleus sampling of the rollouts
    beta: float  # weight of the k3 KL penalty to the reference model (paper: 0.04)
    clip_eps: float  # epsilon of the clipped ratio (not stated in the paper)
    mu: int  # policy updates per exploration step (paper: 1)
    std_eps: float  # added to the group std before dividing, so equal rewards give 0 not NaN
    skip_zero_std_groups: bool  # drop all-equal-reward groups from the update (outcome advantage only;
    # each output keeps its 1/B weight, so skipping changes no step size)
    scale_by_std: bool  # divide advantages by the group std (paper: true; Dr. GRPO: false)
    loss_aggregation: Literal["sequence_mean", "token_mean", "constant_length"]  # paper: sequence_mean
    micro_batch_size: int  # rows per forward/backward (gradients accumulate); 0: the whole batch at once
    process_weight: float  # weight of the process part in the `process_prime` ablation estimator
    process_advantage: str  # estimator of the PRM-rewarded methods (grpo_process, grpo_iterative):
    # process (the paper's), or an ablation: process_prime, process_min (rl/advantages.py)
    optim: OptimConfig
    model_reward: ModelRewardConfig  # replaces lr, beta and steps for ORM/PRM-rewarded methods
    log_every: int
    checkpoint_every: int  # 0 disables resumable checkpoints

    def for_model_reward(self) -> GRPOConfig:
        """This config with the model-reward settings in place of lr, beta and steps."""
        m = self.model_reward
        return replace(self, steps=m.steps, beta=m.beta, optim=replace(self.optim, lr=m.lr))

    def __post_init__(self) -> None:
        positive = ("steps", "questions_per_step", "max_new_tokens", "mu", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.group_size < 2:
            raise ValueError(f"group_size: must be >= 2 (a group needs a spread), got {self.group_size}")
        if self.temperature <= 0:
            raise ValueError(f"temperature: must be > 0 for sampling, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p: must be in (0, 1], got {self.top_p}")
        if self.beta < 0:
            raise ValueError(f"beta: must be >= 0, got {self.beta}")
        if not 0 < self.clip_eps < 1:
            raise ValueError(f"clip_eps: must be in (0, 1), got {self.clip_eps}")
        if self.std_eps < 0:
            raise ValueError(f"std_eps: must be >= 0, got {self.std_eps}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every: must be >= 0, got {self.checkpoint_every}")
        if self.micro_batch_size < 0:
            raise ValueError(f"micro_batch_size: must be >= 0, got {self.micro_batch_size}")
        if self.process_advantage not in PROCESS_ADVANTAGES:
            raise ValueError(f"process_advantage: must be one of {list(PROCESS_ADVANTAGES)}, "
                             f"got {self.process_advantage!r}")


PROCESS_ADVANTAGES = ("process", "process_prime", "process_min")  # estimators that read PRM step rewards


@dataclass(frozen=True)
class RewardModelConfig:
    """Reward-model data (sampled by the SFT policy, labelled by rule and Math-Shepherd) and training."""

    n_questions: int  # training questions whose sampled solutions make the RM data
    samples_per_question: int  # solutions sampled per question
    max_new_tokens: int
    temperature: float  # sampling temperature of solutions and of Math-Shepherd continuations
    shepherd_rollouts: int  # N continuations per step prefix (Math-Shepherd: 8)
    shepherd_soft: bool  # soft labels (share reaching the gold) instead of hard (any reaches it)
    heldout_frac: float  # share of examples kept out of training for the RM metrics
    steps: int
    batch_size: int
    micro_batch_size: int  # examples per forward/backward (gradients accumulate); 0: the whole batch at once
    optim: OptimConfig  # paper: lr 2e-5 for the 7B reward model
    log_every: int
    checkpoint_every: int

    def __post_init__(self) -> None:
        for name in ("n_questions", "samples_per_question", "max_new_tokens", "shepherd_rollouts", "steps",
                     "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.temperature <= 0:
            raise ValueError(f"temperature: must be > 0, got {self.temperature}")
        if self.micro_batch_size < 0:
            raise ValueError(f"micro_batch_size: must be >= 0, got {self.micro_batch_size}")
        if not 0 < self.heldout_frac < 1:
            raise ValueError(f"heldout_frac: must be in (0, 1), got {self.heldout_frac}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every: must be >= 0, got {self.checkpoint_every}")


@dataclass(frozen=True)
class IterativeConfig:
    """Iterative RL (§4.1.4, Algorithm 1): GRPO, then retrain the reward model with replay, repeat."""

    iterations: int  # I (paper: 2 in Fig. 6)
    steps_per_iteration: int  # GRPO steps per iteration (the rest of the GRPO knobs come from `grpo`)
    replay_ratio: float  # share of historical RM data replayed with the new data (paper: 10%)
    rm_steps_per_iteration: int  # continued reward-model training steps per iteration
    n_questions: int  # questions sampled from the policy for new RM data each iteration

    def __post_init__(self) -> None:
        for name in ("iterations", "steps_per_iteration", "rm_steps_per_iteration", "n_questions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.replay_ratio <= 1:
            raise ValueError(f"replay_ratio: must be in [0, 1], got {self.replay_ratio}")
