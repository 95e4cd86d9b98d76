"""Rollouts: G sampled outputs per question from the current policy, as one typed batch.

Sequences are laid out as [left-padded prompt | completion | right padding]; the completion
of each row ends at its first EOS (kept, so the policy also learns when to stop).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evaluation.generation import completion_mask_from


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

    def micro_batches(self, size: int) -> list[tuple[torch.Tensor, RolloutBatch]]:
        """(row indices, trimmed sub-batch) of at most `size` rows each (0: one batch), rows of
        similar total length together so that little padding is computed."""
        n = self.input_ids.shape[0]
        length = self.attention_mask.sum(-1)
        order = torch.argsort(length, stable=True)
        size = n if size <= 0 else size
        return [(rows, self.trimmed(rows)) for rows in order.split(size)]


@torch.no_grad()
def sample_group(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
) -> RolloutBatch:
    """Sample `group_size` outputs for each prompt (seeded, so a resumed run samples the same)."""
    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    torch.manual_seed(seed)
    model.eval()
    out = model.generate(
        **enc,
        do_sample=True,
        temperature=temperature,
        top_p=top_p,
        top_k=0,
        max_new_tokens=max_new_tokens,
        num_return_sequences=group_size,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        # On CPU a preallocated cache beats growing one by concatenation (about 10% of sampling
        # time for the tiny default); elsewhere keep the default, which generate may compile.
        cache_implementation="static" if model.device.type == "cpu" else None,
    )
    width = enc["input_ids"].shape[1]
    tokens = out[:, width:]
    mask = completion_mask_from(tokens, tokenizer.eos_token_id)
    prompt_mask = enc["attention_mask"].repeat_interleave(group_size, dim=0)
    # generate pads finished rows, and EOS/PAD are special tokens: decoding drops both.
    texts = tokenizer.batch_decode(tokens, skip_special_tokens=True)
    groups = torch.arange(len(prompts), device=out.device).repeat_interleave(group_size)
    return RolloutBatch(out, torch.cat([prompt_mask, mask.long()], dim=1), mask, groups, width, texts)


def token_logprobs(model: PreTrainedModel, batch: RolloutBatch) -> torch.Tensor:
    """(B, T) log pi(o_t | q, o_<t) of the sampled completion tokens (temperature 1)."""
    positions = (batch.attention_mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=positions).logits
    logits = logits[:, batch.prompt_width - 1 : -1].float()
    targets = batch.input_ids[:, batch.prompt_width :]
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
