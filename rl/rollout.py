"""Rollouts: G sampled outputs per question from the current policy, as one typed batch.

Sequences are laid out as [left-padded prompt | completion | right padding]; the completion
of each row ends at its first EOS (kept, so the policy also learns when to stop).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from generation.engine import Engine, Sample, SamplingSpec, cut_at_eos
from generation.hf_engine import HFEngine


@dataclass(frozen=True)
class RolloutBatch:
    """B = questions x G rows, grouped: rows [g*G, (g+1)*G) answer question g.

    input_ids: (B, P + T) long; attention_mask: (B, P + T) long; completion_mask: (B, T) float,
    1 on completion tokens up to and including the first EOS; groups: (B,) long question index;
    completions: B decoded texts (special tokens removed).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    completion_mask: torch.Tensor
    groups: torch.Tensor
    prompt_width: int
    completions: list[str]

    def select(self, rows: torch.Tensor) -> RolloutBatch:
        """Sub-batch of the rows where `rows` (B,) bool is True."""
        keep = rows.nonzero().flatten().tolist()
        return RolloutBatch(
            self.input_ids[rows], self.attention_mask[rows], self.completion_mask[rows],
            self.groups[rows], self.prompt_width, [self.completions[i] for i in keep],
        )


    def trimmed(self, rows: torch.Tensor) -> RolloutBatch:
        """Rows `rows` (long indices) without the columns that are padding in all of them.

        Left prompt padding and right completion padding shared by the rows are cut, so a
        micro-batch of similar lengths costs only its own length. Completion column j of the
        result is completion column j of `self`, for j < the result's completion width.
        """
        mask = self.attention_mask[rows]
        real_prompt = mask[:, : self.prompt_width].any(0).nonzero()
        start = int(real_prompt[0]) if len(real_prompt) else self.prompt_width
        width = int(self.completion_mask[rows].sum(-1).max().clamp(min=1))
        end = self.prompt_width + width
        return RolloutBatch(
            self.input_ids[rows, start:end], mask[:, start:end], self.completion_mask[rows, :width],
            self.groups[rows], self.prompt_width - start, [self.completions[i] for i in rows.tolist()],
        )

    def micro_batches(self, size: int, by_group: bool = False) -> list[tuple[torch.Tensor, RolloutBatch]]:
        """(row indices, trimmed sub-batch) of at most `size` rows each (0: one batch), rows of
        similar total length together so that little padding is computed.

        by_group: whole groups instead, max(1, size // rows per group) of them per micro-batch,
        groups of similar longest row together, each group's rows contiguous and in batch order
        (the layout `rl.shared_prompt` needs)."""
        n = self.input_ids.shape[0]
        length = self.attention_mask.sum(-1)
        size = n if size <= 0 else size
        if not by_group:
            order = torch.argsort(length, stable=True)
            return [(rows, self.trimmed(rows)) for rows in order.split(size)]
        names, inverse = torch.unique(self.groups, return_inverse=True)
        longest = torch.zeros(len(names), dtype=length.dtype, device=length.device)
        longest = longest.scatter_reduce(0, inverse, length, "amax", include_self=False)
        per_part = max(1, size // max(1, n // len(names)))
        parts = []
        for chunk in torch.argsort(longest, stable=True).split(per_part):
            rows = torch.cat([(inverse == g).nonzero().flatten() for g in chunk.tolist()])
            parts.append((rows, self.trimmed(rows)))
        return parts


def batch_from_samples(samples: list[list[Sample]], pad_id: int, eos_id: int,
                       device: torch.device | str = "cpu") -> RolloutBatch:
    """The rollout batch of an engine's samples (row order: prompt, then sample).

    Row layout [left-padded prompt | completion | right padding], padding = pad_id, width
    P + T with P the longest prompt and T the longest completion. A completion ends at its first
    EOS (kept); anything after it is treated as padding. completion_mask and the completion part
    of attention_mask are 1 up to and including that EOS.
    """
    rows = [(s, cut_at_eos(list(s.token_ids), eos_id)) for group in samples for s in group]
    if not rows:
        raise ValueError("samples: no samples to batch")
    width = max(len(s.prompt_ids) for s, _ in rows)
    length = max(len(c) for _, c in rows)
    ids = torch.full((len(rows), width + length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width + length), dtype=torch.long)
    for r, (s, completion) in enumerate(rows):
        start, end = width - len(s.prompt_ids), width + len(completion)
        ids[r, start:end] = torch.tensor(list(s.prompt_ids) + completion, dtype=torch.long)
        attention[r, start:end] = 1
    groups = torch.tensor([g for g, group in enumerate(samples) for _ in group], dtype=torch.long)
    completion_mask = attention[:, width:].float()
    ids, attention, completion_mask, groups = (t.to(device) for t in (ids, attention, completion_mask, groups))
    return RolloutBatch(ids, attention, completion_mask, groups, width, [s.text for s, _ in rows])


def sample_group(
    model: PreTrainedModel | None,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    engine: Engine | None = None,
) -> RolloutBatch:
    """Sample `group_size` outputs for each prompt (seeded, so a resumed run samples the same).

    Without `engine`, one seeded `generate` call on `model` samples all prompts (an HFEngine
    whose one chunk holds every prompt), with a static KV cache on CPU. The batch lives on the
    model's device (CPU when only an engine is given).
    """
    # No special tokens: SFT and RL tokenize the prompt the same way (training/sft.py).
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    if engine is None:
        engine = HFEngine(model, tokenizer, batch_size=max(1, len(prompts) * group_size), static_cache=True)
    samples = engine.sample(ids, SamplingSpec(group_size, temperature, top_p, max_new_tokens, seed))
    device = next(model.parameters()).device if model is not None else torch.device("cpu")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return batch_from_samples(samples, pad_id, tokenizer.eos_token_id, device)


def token_logprobs(model: PreTrainedModel, batch: RolloutBatch) -> torch.Tensor:
    """(B, T) log pi(o_t | q, o_<t) of the sampled completion tokens (temperature 1)."""
    positions = (batch.attention_mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=positions).logits
    logits = logits[:, batch.prompt_width - 1 : -1].float()
    targets = batch.input_ids[:, batch.prompt_width :]
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
