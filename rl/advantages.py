"""Gradient coefficients of the paper's unified paradigm (§5.2.1, Table 10), registered by name.

Every estimator has one signature, `fn(rewards: Rewards, groups, mask, std_eps, scale_by_std)
-> (B, T)`: the caller does one registry lookup, never an if/elif over method names.

- groups: (B,) long, the question index of each output; every group has the same size G
- mask: (B, T) float, 1 on real completion tokens

| name | method | coefficient of token t of output i |
|---|---|---|
| `sft` | SFT | 1 |
| `rft` | RFT and Online RFT | 1 if output i is correct else 0 |
| `outcome` | GRPO + outcome supervision (§4.1.2) | (r_i - mean(r)) / std(r) |
| `process` | GRPO + process supervision (§4.1.3) | sum over steps j of output i ending at or after t of (r_ij - mean(R)) / std(R) |

RFT and Online RFT share a coefficient; they differ in the data source (offline samples of the
SFT model vs online samples of the current policy), which is the trainer's business. The GRPO
coefficient of Table 10 also has the KL term beta (pi_ref/pi_theta - 1): that part comes from
the loss (`rl/loss.py`), where the k3 estimator's gradient produces it.

`scale_by_std=False` drops the division by std (Dr. GRPO); the paper divides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Rewards:
    """What a reward function said about a batch of B outputs.

    outcome: (B,) one scalar per output (rule grader or outcome reward model).
    step_rewards: (B, S) process reward of each reasoning step (PRM), or None.
    step_ends: (B, S) long, index in the completion of each step's last token.
    step_mask: (B, S) float, 1 for real steps (outputs have different step counts).
    """

    outcome: torch.Tensor
    step_rewards: torch.Tensor | None = None
    step_ends: torch.Tensor | None = None
    step_mask: torch.Tensor | None = None


AdvantageFn = Callable[[Rewards, torch.Tensor, torch.Tensor, float, bool], torch.Tensor]
ADVANTAGE_ESTIMATORS: dict[str, AdvantageFn] = {}


# Estimators for which a group whose outcome rewards are all equal gets a zero coefficient on
# every token, so the trainer may skip such groups (`grpo.skip_zero_std_groups`) without changing
# the gradient's advantage part. Not true of `sft`, `rft` (an all-correct group still teaches)
# or `process` (step rewards can differ when outcomes agree).
FLAT_GROUPS_GIVE_ZERO: set[str] = set()


def register(name: str, flat_groups_give_zero: bool = False) -> Callable[[AdvantageFn], AdvantageFn]:
    def add(fn: AdvantageFn) -> AdvantageFn:
        if name in ADVANTAGE_ESTIMATORS:
            raise ValueError(f"advantage estimator {name!r} registered twice")
        ADVANTAGE_ESTIMATORS[name] = fn
        if flat_groups_give_zero:
            FLAT_GROUPS_GIVE_ZERO.add(name)
        return fn

    return add


def get_estimator(name: str) -> AdvantageFn:
    if name not in ADVANTAGE_ESTIMATORS:
        raise ValueError(f"advantage: unknown estimator {name!r}; choose from {sorted(ADVANTAGE_ESTIMATORS)}")
    return ADVANTAGE_ESTIMATORS[name]


def normalize(values: torch.Tensor, std_eps: float, scale_by_std: bool) -> torch.Tensor:
    """(v - mean) / (std + eps) over a 1-D tensor; std is the sample std (Bessel's correction),
    as in the DeepSeek and TRL code; the paper writes std(r) without saying which."""
    centred = values - values.mean()
    if not scale_by_std:
        return centred
    std = values.std(unbiased=True) if values.numel() > 1 else torch.zeros(())
    return centred / (std + std_eps)


def group_normalize(rewards: torch.Tensor, groups: torch.Tensor, std_eps: float, scale_by_std: bool = True) -> torch.Tensor:
    """(r_i - mean(r)) / (std(r) + std_eps) within each group."""
    out = torch.empty_like(rewards, dtype=torch.float32)
    for g in torch.unique(groups):
        idx = groups == g
        out[idx] = normalize(rewards[idx].float(), std_eps, scale_by_std)
    return out


def zero_std_groups(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """(B,) bool: True for outputs whose whole group got one reward value (no learning signal)."""
    flat = torch.zeros_like(groups, dtype=torch.bool)
    for g in torch.unique(groups):
        idx = groups == g
        flat[idx] = bool((rewards[idx] == rewards[idx][0]).all())
    return flat


@register("sft")
def sft_coefficient(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, std_eps: float, scale_by_std: bool) -> torch.Tensor:
    """SFT: every token of every (reference) output gets coefficient 1."""
    return mask.clone()


@register("rft")
def rft_coefficient(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, std_eps: float, scale_by_std: bool) -> torch.Tensor:
    """(Online) RFT: 1 on the tokens of correct outputs, 0 elsewhere (rewards must be 0/1)."""
    correct = (rewards.outcome > 0.5).float()
    return correct[:, None] * mask


@register("outcome", flat_groups_give_zero=True)
def outcome_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, std_eps: float, scale_by_std: bool) -> torch.Tensor:
    """Outcome supervision (§4.1.2): every token of output i gets the normalised reward of i."""
    return group_normalize(rewards.outcome, groups, std_eps, scale_by_std)[:, None] * mask


@register("process")
def process_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, std_eps: float, scale_by_std: bool) -> torch.Tensor:
    """Process supervision (§4.1.3): A_t = sum of normalised step rewards of steps ending at or after t.

    Step rewards are normalised with the mean and std of all step rewards R of the group's G
    outputs (not per output).
    """
    if rewards.step_rewards is None or rewards.step_ends is None or rewards.step_mask is None:
        raise ValueError("advantage 'process' needs step rewards from a process reward model")
    normed = torch.zeros_like(rewards.step_rewards, dtype=torch.float32)
    for g in torch.unique(groups):
        rows = groups == g
        real = rewards.step_mask[rows] > 0
        block = torch.zeros_like(normed[rows])
        block[real] = normalize(rewards.step_rewards[rows][real].float(), std_eps, scale_by_std)
        normed[rows] = block
    positions = torch.arange(mask.shape[1], device=mask.device)  # (T,)
    # counts[b, j, t] = 1 if step j of output b ends at or after token t.
    counts = (rewards.step_ends[:, :, None] >= positions[None, None, :]).float() * rewards.step_mask[:, :, None]
    return (normed[:, :, None] * counts).sum(1) * mask
