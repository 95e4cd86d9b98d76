"""Reasoning steps of a sampled completion, as token positions (for process rewards, §4.1.3).

A step ends at a token whose text contains a newline (the default, matching the one-line-per-step
solutions of GSM8K and of our synthetic problems), and the completion's last real token always
ends the last step. Positions are found on the sampled token ids themselves, never by
re-tokenising the text, so they line up with the log-probs the loss uses.
"""

from __future__ import annotations

import weakref

import torch
from transformers import PreTrainedTokenizerBase

# tokenizer -> {delimiter: {token id: ends a step}}. A process-reward GRPO step asks this for up to
# 128 x 72 sampled tokens, one tokenizer.decode call each; a token's text never changes, so each id
# is decoded once per process. Weak keys: a dropped tokenizer drops its memo.
_ENDS_STEP: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ends_step(tokenizer: PreTrainedTokenizerBase, delimiter: str) -> dict[int, bool]:
    memo = _ENDS_STEP.setdefault(tokenizer, {})
    return memo.setdefault(delimiter, {})


def step_end_positions(token_ids: list[int], tokenizer: PreTrainedTokenizerBase, delimiter: str = "\n") -> list[int]:
    """Indices (into `token_ids`) of the last token of each step; empty for an empty completion."""
    ends = []
    memo = _ends_step(tokenizer, delimiter)
    for i, token in enumerate(token_ids):
        hit = memo.get(token)
        if hit is None:
            # Decoding one token at a time is enough to see a delimiter character; byte-level pieces
            # of multi-byte characters decode to replacement characters, which are never delimiters.
            hit = memo[token] = delimiter in tokenizer.decode([token])
        if hit:
            ends.append(i)
    if token_ids and (not ends or ends[-1] != len(token_ids) - 1):
        ends.append(len(token_ids) - 1)
    return ends


def batch_step_ends(tokens: torch.Tensor, mask: torch.Tensor, tokenizer: PreTrainedTokenizerBase,
                    delimiter: str = "\n") -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) completion tokens and mask -> step_ends (B, S) long and step_mask (B, S) float.

    S is the largest step count in the batch; shorter rows are padded with position 0 and mask 0.
    """
    rows = []
    for row, row_mask in zip(tokens.tolist(), mask.tolist()):
        n = int(sum(row_mask))
        rows.append(step_end_positions(row[:n], tokenizer, delimiter))
    width = max(1, max(len(r) for r in rows))
    ends = torch.zeros(len(rows), width, dtype=torch.long)
    step_mask = torch.zeros(len(rows), width)
    for b, r in enumerate(rows):
        ends[b, : len(r)] = torch.tensor(r, dtype=torch.long)
        step_mask[b, : len(r)] = 1.0
    return ends, step_mask
