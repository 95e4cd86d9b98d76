"""Token log-probs of a rollout batch with each group's prompt run through the model once.

The G outputs of a question share its prompt, yet `rl.rollout.token_logprobs` runs the prompt
once per output: on the tiny default about 40% of an update's positions are prompt. Here a
micro-batch of whole groups takes two forward passes: the distinct prompts, keeping their keys
and values (with their autograd graph), then every output's completion tokens attending to its
prompt's keys and values, repeated per output. Each completion token sees exactly the context
it has in `token_logprobs`, so the log-probs agree up to float summation order, and gradients
reach the prompt positions through the cached keys and values as they do there
(tests/rl/test_shared_prompt.py).

Off under gradient checkpointing (transformers turns the cache off in checkpointed training).
"""

from __future__ import annotations

import torch
from transformers import DynamicCache, PreTrainedModel

from generation.lean_engine import cache_argument
from rl.rollout import RolloutBatch


def group_starts(batch: RolloutBatch) -> torch.Tensor | None:
    """Index of the first row of each group when rows come as contiguous runs of one group
    each (the layout this needs), else None."""
    groups = batch.groups
    if groups.numel() == 0:
        return None
    first = torch.ones_like(groups, dtype=torch.bool)
    first[1:] = groups[1:] != groups[:-1]
    starts = first.nonzero().flatten()
    return starts if len(starts) == int(torch.unique(groups).numel()) else None


def _unwrapped(model: torch.nn.Module) -> PreTrainedModel:
    """The transformers model inside a DDP wrapper (FSDP2 and DeepSpeed keep it reachable too)."""
    return getattr(model, "module", model)


def two_passes(model: PreTrainedModel, batch: RolloutBatch, **prompt_kwargs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(prompt pass logits (groups, ...), completion pass logits (B, T, ...), row -> group index).

    The prompt pass runs the distinct prompts (left-padded: their last column is every prompt's
    last real token) and keeps their keys and values; the completion pass runs every row's
    completion columns against its prompt's. `batch` rows must be grouped (`group_starts`)."""
    starts = group_starts(batch)
    if starts is None:
        raise ValueError("shared prompt: rows must come in contiguous runs of one group")
    width = batch.prompt_width
    if width == 0:
        raise ValueError("shared prompt: an empty prompt has no position to predict the first token from")
    rows = torch.arange(len(batch.groups), device=batch.groups.device)
    row_group = torch.searchsorted(starts, rows, right=True) - 1
    prompt_mask = batch.attention_mask[starts, :width]
    prompt_pos = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    inner = _unwrapped(model)  # the passes go through `model`, so that a DDP wrapper's hooks run
    cache = DynamicCache(config=inner.config)
    arg = cache_argument(inner)
    first = model(input_ids=batch.input_ids[starts, :width], attention_mask=prompt_mask, position_ids=prompt_pos,
                  use_cache=True, **prompt_kwargs, **{arg: cache}).logits
    cache.batch_select_indices(row_group)  # one copy of the prompt's keys and values per output (differentiable)
    completion = batch.input_ids[:, width:]
    positions = prompt_mask.sum(-1)[row_group, None] + torch.arange(completion.shape[1], device=completion.device)
    logits = model(input_ids=completion, attention_mask=batch.attention_mask, position_ids=positions, use_cache=True,
                   **{arg: cache}).logits
    return first, logits, row_group


def shared_prompt_logprobs(model: PreTrainedModel, batch: RolloutBatch) -> torch.Tensor:
    """(B, T) log pi(o_t | q, o_<t) of the sampled completion tokens, as `token_logprobs`.

    `batch` rows must be grouped (`group_starts`) with one prompt per group, as rollouts are.
    """
    first, logits, row_group = two_passes(model, batch, logits_to_keep=1)
    # Token 0 is predicted by the prompt's last position, token t by completion position t - 1.
    logits = torch.cat([first[row_group, -1:], logits[:, :-1]], dim=1).float()
    completion = batch.input_ids[:, batch.prompt_width :]
    return torch.log_softmax(logits, dim=-1).gather(-1, completion[..., None]).squeeze(-1)


@torch.no_grad()
def shared_prompt_scores(model: PreTrainedModel, batch: RolloutBatch, ends: list[list[int]],
                         micro_batch_size: int = 64) -> list[list[float]]:
    """Reward-model scores (sigmoid of the head) at completion positions `ends[row]`, as
    `rl.reward_model.score` gives them on each row's unpadded prompt + completion, in
    micro-batches of whole groups of about `micro_batch_size` rows."""
    model.eval()
    out: list[list[float]] = [[] for _ in ends]
    for rows, sub in batch.micro_batches(micro_batch_size, by_group=True):
        _, logits, _ = two_passes(model, sub)
        probs = torch.sigmoid(logits[..., 0].float())
        for i, row in enumerate(rows.tolist()):
            out[row] = probs[i, ends[row]].tolist()
    return out
