"""Advantage estimators (the paper's gradient coefficients, §5.2.1), registered by name.

Every estimator has one signature, `fn(rewards, groups, mask, std_eps) -> (B, T)`: the caller does
one registry lookup, never an if/elif over method names.

- rewards: (B,) float, one scalar per output (outcome supervision)
- groups: (B,) long, the question index of each output; every group has the same size G
- mask: (B, T) float, 1 on real completion tokens
"""

from __future__ import annotations

from collections.abc import Callable

import torch

AdvantageFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]
ADVANTAGE_ESTIMATORS: dict[str, AdvantageFn] = {}


def register(name: str) -> Callable[[AdvantageFn], AdvantageFn]:
    def add(fn: AdvantageFn) -> AdvantageFn:
        if name in ADVANTAGE_ESTIMATORS:
            raise ValueError(f"advantage estimator {name!r} registered twice")
        ADVANTAGE_ESTIMATORS[name] = fn
        return fn

    return add


def get_estimator(name: str) -> AdvantageFn:
    if name not in ADVANTAGE_ESTIMATORS:
        raise ValueError(f"advantage: unknown estimator {name!r}; choose from {sorted(ADVANTAGE_ESTIMATORS)}")
    return ADVANTAGE_ESTIMATORS[name]


def group_normalize(rewards: torch.Tensor, groups: torch.Tensor, std_eps: float) -> torch.Tensor:
    """(r_i - mean(r)) / (std(r) + std_eps) within each group.

    std is the sample standard deviation (Bessel's correction), as in the DeepSeek and TRL code;
    the paper writes std(r) without saying which.
    """
    out = torch.empty_like(rewards, dtype=torch.float32)
    for g in torch.unique(groups):
        idx = groups == g
        r = rewards[idx].float()
        out[idx] = (r - r.mean()) / (r.std(unbiased=True) + std_eps)
    return out


def zero_std_groups(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """(B,) bool: True for outputs whose whole group got one reward value (no learning signal)."""
    flat = torch.zeros_like(groups, dtype=torch.bool)
    for g in torch.unique(groups):
        idx = groups == g
        flat[idx] = bool((rewards[idx] == rewards[idx][0]).all())
    return flat


@register("outcome")
def outcome_advantages(rewards: torch.Tensor, groups: torch.Tensor, mask: torch.Tensor, std_eps: float) -> torch.Tensor:
    """Outcome supervision (§4.1.2): every token of output i gets the normalised reward of i."""
    return group_normalize(rewards, groups, std_eps)[:, None] * mask
