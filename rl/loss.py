"""The GRPO objective of DeepSeekMath §4.1 (Eq. 3), as a loss to minimise.

    J = 1/G sum_i 1/|o_i| sum_t [ min(r_it A_it, clip(r_it, 1-eps, 1+eps) A_it) - beta KL_it ]

with r_it = pi_theta / pi_old per token and KL_it the k3 estimator
pi_ref/pi_theta - log(pi_ref/pi_theta) - 1 (unbiased, always >= 0). All tensors are (B, T) over
the completion tokens, B = questions x G outputs laid out group by group; `mask` is 1 on real
completion tokens. The mean over the B outputs equals the mean over groups of 1/G sum_i because
every group has G outputs.

Aggregation switches (off by default; documented departures from the paper):
- `sequence_mean` (paper): mean over each output's tokens, then over outputs.
- `token_mean` (DAPO): sum over all real tokens of the batch / their count, so long outputs
  weigh more.
- `constant_length` (Dr. GRPO): sum over each output's tokens / a constant (the completion
  width T), then mean over outputs, which removes the length bias of 1/|o_i|.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi_theta || pi_ref) from log-probs of the sampled tokens."""
    log_ratio = ref_logp - logp  # log(pi_ref / pi_theta)
    return torch.exp(log_ratio) - log_ratio - 1


def token_weights(mask: torch.Tensor, how: str) -> torch.Tensor:
    """(B, T) weights w with objective = sum(w * per_token) for aggregation `how` over the batch.

    Weights (not a reduction) so that a batch split into micro-batches, each trimmed of padding,
    sums to exactly the full-batch objective: slice w like the per-token values.
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"loss_aggregation: unknown {how!r}; choose from {sorted(AGGREGATIONS)}")
    return AGGREGATIONS[how](mask.float())


AGGREGATIONS = {
    "sequence_mean": lambda m: m / m.sum(-1, keepdim=True).clamp(min=1) / m.shape[0],
    "token_mean": lambda m: m / m.sum().clamp(min=1),
    "constant_length": lambda m: m / (m.shape[1] * m.shape[0]),
}


@dataclass(frozen=True)
class LossStats:
    """Diagnostics of one update, averaged over real completion tokens."""

    kl: float
    clip_frac: float  # share of tokens whose ratio left [1-eps, 1+eps] in the direction that clips
    ratio_mean: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float,
    beta: float,
    aggregation: str = "sequence_mean",
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, LossStats]:
    """Negative GRPO objective (scalar) and its diagnostics; `ref_logp` may be None when beta = 0.

    `weights` (B, T), from `token_weights` on the full batch, replaces `aggregation` when the
    tensors are one micro-batch of it: the micro-batch losses then sum to the full-batch loss.
    """
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    per_token = torch.minimum(unclipped, clipped)
    kl = torch.zeros_like(logp) if ref_logp is None else k3_kl(logp, ref_logp)
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs the reference model's log-probs")
        per_token = per_token - beta * kl
    w = token_weights(mask, aggregation) if weights is None else weights
    objective = (w * per_token).sum()
    n_tokens = mask.sum().clamp(min=1)
    with torch.no_grad():
        was_clipped = (clipped < unclipped).float()  # min() picked the clipped branch
        stats = LossStats(
            kl=float((kl * mask).sum() / n_tokens),
            clip_frac=float((was_clipped * mask).sum() / n_tokens),
            ratio_mean=float((ratio * mask).sum() / n_tokens),
        )
    return -objective, stats
