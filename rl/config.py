"""Typed config of the GRPO stage; defaults of the real profile follow §4.2 of the paper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from training.config import OptimConfig


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
    skip_zero_std_groups: bool  # drop groups whose rewards are all equal from the update
    scale_by_std: bool  # divide advantages by the group std (paper: true; Dr. GRPO: false)
    loss_aggregation: Literal["sequence_mean", "token_mean", "constant_length"]  # paper: sequence_mean
    optim: OptimConfig
    log_every: int
    checkpoint_every: int  # 0 disables resumable checkpoints

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
