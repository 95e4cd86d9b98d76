"""Gradient coefficients of the paper's unified paradigm (§5.2.1, Table 10), registered by name.

Every estimator has one signature, `fn(rewards: Rewards, groups, mask, opts: AdvantageOptions)
-> (B, T) float32`: the caller does one registry lookup, never an if/elif over method names.

- groups: (B,) long, the question index of each output; every group has the same size G
- mask: (B, T) float, 1 on real completion tokens
- opts: std_eps, scale_by_std, and process_weight (used by `process_prime` only)

| name | method | coefficient of token t of output i |
|---|---|---|
| `sft` | SFT | 1 |
| `rft` | RFT and Online RFT | 1 if output i is correct else 0 |
| `outcome` | GRPO + outcome supervision (§4.1.2) | (r_i - mean(r)) / std(r) |
| `process` | GRPO + process supervision (§4.1.3) | sum over steps j of output i ending at or after t of (r_ij - mean(R)) / std(R) |
| `process_prime` | ablation, beyond the paper (PRIME) | outcome coefficient + w * sum over steps j ending at or after t of (r_ij - mean(R)) |
| `process_min` | ablation, beyond the paper (PURE) | normalised v_ij, v_ij = min over steps k >= j of r_ik, j the step holding t |

RFT and Online RFT share a coefficient; they differ in the data source (offline samples of the
SFT model vs online samples of the current policy), which is the trainer's business. The GRPO
coefficient of Table 10 also has the KL term beta (pi_ref/pi_theta - 1): that part comes from
the loss (`rl/loss.py`), where the k3 estimator's gradient produces it.

`scale_by_std=False` drops the division by std (Dr. GRPO); the paper divides.

Everything here is built from fixed-shape tensor ops on the inputs' device (no torch.unique,
boolean indexing, loops over groups or host syncs), so it runs on GPU without syncs and on the
`meta` device for shape checks. Groups are pooled with a (B, B) same-group matrix.
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
    step_ends: (B, S) long, index in the completion of each step's last token (ascending).
    step_mask: (B, S) float, 1 for real steps (outputs have different step counts).
    """

    outcome: torch.Tensor
    step_rewards: torch.Tensor | None = None
    step_ends: torch.Tensor | None = None
    step_mask: torch.Tensor | None = None


@dataclass(frozen=True)
class AdvantageOptions:
    """std_eps: added to the std before dividing; scale_by_std: divide by it at all (paper: yes);
    process_weight: weight w of the process part in the `process_prime` ablation."""

    std_eps: float = 1e-4
    scale_by_std: bool = True
    process_weight: float = 1.0


AdvantageFn = Callable[[Rewards, torch.Tensor, torch.Tensor, AdvantageOptions], torch.Tensor]
ADVANTAGE_ESTIMATORS: dict[str, AdvantageFn] = {}

# Maps per-row values (B,) to the total over each row's pool (B,).
Pool = Callable[[torch.Tensor], torch.Tensor]


# Estimators for which a group whose outcome rewards are all equal gets a zero coefficient on
# every token, so the trainer may skip such groups (`grpo.skip_zero_std_groups`) without changing
# the gradient's advantage part. Not true of `sft`, `rft` (an all-correct group still teaches)
# or the process estimators (step rewards can differ when outcomes agree).
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


def _same_group(groups: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: True where outputs i and j answer the same question."""
    return groups[:, None] == groups[None, :]


def _group_pool(groups: torch.Tensor) -> Pool:
    same = _same_group(groups).float()
    # A product and a sum rather than `same @ v`: GPU matmuls may run in TF32 (10-bit mantissa),
    # which would blur means and stds of PRM scores; this sum stays float32.
    return lambda v: (same * v[None, :]).sum(1)


def _whole_pool(v: torch.Tensor) -> torch.Tensor:
    return v.sum().expand_as(v)


def _centre(values: torch.Tensor, real: torch.Tensor, pool: Pool) -> tuple[torch.Tensor, torch.Tensor]:
    """values, real: (B, K). Subtract the mean of the real entries of each row's pool; padding
    entries come out 0. Also returns the (B,) count of real entries in each row's pool."""
    count = pool(real.sum(1))
    mean = pool((values * real).sum(1)) / count.clamp(min=1)  # an empty pool has nothing to centre
    return (values - mean[:, None]) * real, count


def _pooled_normalize(values: torch.Tensor, real: torch.Tensor, pool: Pool, opts: AdvantageOptions) -> torch.Tensor:
    """(v - mean) / (std + eps) over the real entries of each row's pool (B, K); std is the sample
    std (Bessel's correction), as in the DeepSeek and TRL code; the paper writes std(r) without
    saying which. A pool of one value has std 0: its centred value is 0, so dividing its zero
    sum of squares by max(n - 1, 1) gives that without a branch."""
    centred, count = _centre(values.float(), real.float(), pool)
    if not opts.scale_by_std:
        return centred
    var = pool((centred**2).sum(1)) / (count - 1).clamp(min=1)
    return centred / (var.sqrt()[:, None] + opts.std_eps)


def normalize(values: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """Normalise a 1-D tensor as one pool (see `_pooled_normalize`)."""
    return _pooled_normalize(values[:, None], torch.ones_like(values[:, None]), _whole_pool, opts)[:, 0]


def group_normalize(rewards: torch.Tensor, groups: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """(r_i - mean(r)) / (std(r) + std_eps) within each group."""
    return _pooled_normalize(rewards[:, None], torch.ones_like(rewards[:, None]), _group_pool(groups), opts)[:, 0]


def zero_std_groups(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """(B,) bool: True for outputs whose whole group got one reward value (no learning signal)."""
    differs = rewards[:, None] != rewards[None, :]
    return ~(differs & _same_group(groups)).any(1)


def _step_rewards(rewards: Rewards, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if rewards.step_rewards is None or rewards.step_ends is None or rewards.step_mask is None:
        raise ValueError(f"advantage {name!r} needs step rewards from a process reward model")
    return rewards.step_rewards.float(), rewards.step_ends, rewards.step_mask.float()


def _covers(step_ends: torch.Tensor, step_mask: torch.Tensor, length: int, device: torch.device) -> torch.Tensor:
    """(B, S, T) bool: step j of output b is real and ends at or after token t."""
    positions = torch.arange(length, device=device)
    return (step_ends[:, :, None] >= positions[None, None, :]) & (step_mask[:, :, None] > 0)


def _credit_later_steps(step_values: torch.Tensor, rewards: Rewards, mask: torch.Tensor) -> torch.Tensor:
    """Token t gets the sum of the values of the steps ending at or after t (§4.1.3)."""
    covers = _covers(rewards.step_ends, rewards.step_mask, mask.shape[1], mask.device).float()
    return (step_values[:, :, None] * covers).sum(1) * mask.float()


@register("sft")
def sft_coefficient(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """SFT: every token of every (reference) output gets coefficient 1."""
    return mask.to(torch.float32, copy=True)


@register("rft")
def rft_coefficient(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """(Online) RFT: 1 on the tokens of correct outputs, 0 elsewhere (rewards must be 0/1)."""
    correct = (rewards.outcome > 0.5).float()
    return correct[:, None] * mask.float()


@register("outcome", flat_groups_give_zero=True)
def outcome_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """Outcome supervision (§4.1.2): every token of output i gets the normalised reward of i."""
    return group_normalize(rewards.outcome, groups, opts)[:, None] * mask.float()


@register("process")
def process_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """Process supervision (§4.1.3): A_t = sum of normalised step rewards of steps ending at or after t.

    Step rewards are normalised with the mean and std of all step rewards R of the group's G
    outputs (not per output).
    """
    step_r, _, step_mask = _step_rewards(rewards, "process")
    normed = _pooled_normalize(step_r, step_mask, _group_pool(groups), opts)
    return _credit_later_steps(normed, rewards, mask)


@register("process_prime")
def process_prime_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """Ablation beyond the paper, following PRIME (arXiv 2502.01456): outcome plus process advantage.

    A_t of output i = group_normalize(outcome)_i + w * sum over steps j of i ending at or after t
    of (r_ij - mean(R)), R the real step rewards of the group, w = opts.process_weight. As in
    PRIME, the process part has a baseline subtracted but is not divided by a std, so w alone
    sets its scale against the outcome part.
    """
    step_r, _, step_mask = _step_rewards(rewards, "process_prime")
    centred, _ = _centre(step_r, step_mask, _group_pool(groups))
    process = _credit_later_steps(centred, rewards, mask)
    return outcome_advantages(rewards, groups, mask, opts) + opts.process_weight * process


def _suffix_min(values: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """(B, S): min over the real steps k >= j of values_k; padding steps come out 0."""
    padded = torch.where(real > 0, values, torch.full_like(values, float("inf")))  # padding never wins
    suffix = torch.flip(torch.cummin(torch.flip(padded, [1]), 1).values, [1])
    return torch.where(real > 0, suffix, torch.zeros_like(values))


@register("process_min")
def process_min_advantages(rewards: Rewards, groups: torch.Tensor, mask: torch.Tensor, opts: AdvantageOptions) -> torch.Tensor:
    """Ablation beyond the paper, following PURE (arXiv 2504.15275): min-form credit assignment.

    A step is worth the worst step from there on, v_ij = min over real steps k >= j of r_ik,
    rather than the sum of the rest; PURE argues that summed credit invites reward hacking.
    The v are normalised like the paper's step rewards (pooled over the group's real steps,
    mean and std per opts), and token t gets the normalised v of the step it lies in, the first
    real step ending at or after t (no sum over later steps; tokens after the last step get 0).
    PURE reaches the min through a softmin-weighted transform of the rewards; this is the
    direct min form.
    """
    step_r, step_ends, step_mask = _step_rewards(rewards, "process_min")
    values = _suffix_min(step_r, step_mask)
    normed = _pooled_normalize(values, step_mask, _group_pool(groups), opts)
    covers = _covers(step_ends, step_mask, mask.shape[1], mask.device)
    holds = covers & (covers.cumsum(1) == 1)  # only the first covering step holds the token
    return (normed[:, :, None] * holds.float()).sum(1) * mask.float()
