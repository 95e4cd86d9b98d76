"""Chain-of-thought SFT: the prompt is context, the loss is on the solution tokens and EOS only.

Paper §3.2 trains on 776K CoT/PoT/tool examples for 500 steps at batch 256 with a constant lr;
the embedded default uses synthetic CoT arithmetic and a warm-up + cosine schedule, which the
guide measured to converge faster for a model trained from scratch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from evaluation.prompts import format_prompt, training_target
from training.loop import draw_indices
from training.tokenizer import encode_texts

IGNORE = -100  # label value that transformers' causal-LM loss skips


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]  # prompt then solution then EOS
    n_prompt: int  # leading tokens that carry no loss


def encode_examples(problems: list[dict], tokenizer: PreTrainedTokenizerBase, max_len: int,
                    fmt: str) -> tuple[list[Example], Counter[str]]:
    """Tokenize prompt and target separately (as generation sees them) in prompt format `fmt`.

    Returns (kept examples, counts): `examples_<source>` per kept source, `too_long` and
    `missing_solution` (a normalised problem with an empty solution teaches nothing).
    """
    examples, counts = [], Counter()
    usable = []
    for p in problems:
        if not p["solution"].strip():
            counts["missing_solution"] += 1
            continue
        usable.append(p)
    prompts = encode_texts(tokenizer, [format_prompt(fmt, p["question"], tokenizer) for p in usable])
    targets = encode_texts(tokenizer, [training_target(p, fmt) for p in usable])
    for p, prompt, target in zip(usable, prompts, targets, strict=True):
        target = target + [tokenizer.eos_token_id]
        if len(prompt) + len(target) > max_len:
            counts["too_long"] += 1
            continue
        examples.append(Example(tuple(prompt + target), len(prompt)))
        counts[f"examples_{p['source']}"] += 1
    if not examples:
        raise ValueError(f"no SFT example fits sft.max_len={max_len} ({dict(counts)})")
    return examples, counts


def collate(batch: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input_ids, attention_mask and labels (IGNORE on prompt and padding)."""
    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        labels[row, e.n_prompt : n] = ids[row, e.n_prompt : n]
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def collate_packed(batch: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """The examples packed into rows as wide as the longest one (first fit, longest first), with
    position ids restarting at 0 for each example and labels as in `collate`.

    Without an attention mask and a cache, transformers reads the restarts as packed sequences
    and masks attention across them, so every token sees exactly the context it has in
    `collate`'s padded rows, with fewer padded positions computed (on the default problems 25
    rows instead of 32, 18% less time per step; tests/training/test_sft_packing.py). The
    padding after a row's last example restarts its positions too, so it is a sequence of its
    own that nothing attends to and that carries no loss."""
    width = max(len(e.ids) for e in batch)
    rows: list[list[Example]] = []
    room: list[int] = []
    for e in sorted(batch, key=lambda e: -len(e.ids)):  # stable: ties keep the draw order
        slot = next((i for i, free in enumerate(room) if free >= len(e.ids)), None)
        if slot is None:
            rows.append([e])
            room.append(width - len(e.ids))
        else:
            rows[slot].append(e)
            room[slot] -= len(e.ids)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for e in row:
            n = len(e.ids)
            ids[r, at : at + n] = torch.tensor(e.ids)
            labels[r, at + e.n_prompt : at + n] = ids[r, at + e.n_prompt : at + n]
            positions[r, at : at + n] = torch.arange(n)
            at += n
        positions[r, at:] = torch.arange(width - at)
    return {"input_ids": ids, "labels": labels, "position_ids": positions}


class SFTLoss:
    """Mean cross-entropy over the solution tokens (and EOS) of a batch drawn by a (seed, step)
    generator (`training.loop.BatchLoss`).

    length_groups > 1 groups batches by length, as `group_by_length` samplers do: the draws of
    `length_groups` consecutive steps are made at once, sorted by length and cut into batches,
    which those steps take in a seeded random order. Every example is still drawn uniformly;
    a batch is padded to its longest example, so similar lengths waste less compute on padding
    (on the default problems, about a third of a random batch's positions are padding)."""

    def __init__(self, examples: list[Example], batch_size: int, pad_id: int, seed: int,
                 length_groups: int = 1, packing: bool = False) -> None:
        self.examples, self.batch_size, self.pad_id, self.seed = examples, batch_size, pad_id, seed
        self.length_groups = length_groups
        self.packing = packing

    def draw(self, step: int) -> list[Example]:
        k = self.length_groups
        if k <= 1:
            return [self.examples[i] for i in draw_indices(len(self.examples), self.batch_size, self.seed, step)]
        block, slot = divmod(step, k)
        # Blocks are seeded apart from plain steps' draws (a negative offset no step uses).
        drawn = draw_indices(len(self.examples), self.batch_size * k, self.seed, -1 - block)
        drawn.sort(key=lambda i: (len(self.examples[i].ids), i))
        order = torch.randperm(k, generator=torch.Generator().manual_seed(self.seed * 1_000_003 - 1 - block)).tolist()
        start = order[slot] * self.batch_size
        return [self.examples[i] for i in drawn[start : start + self.batch_size]]

    def count(self, items: list[Example]) -> float:
        # Labels start at n_prompt; the causal shift never predicts position 0.
        return float(sum(len(e.ids) - max(e.n_prompt, 1) for e in items))

    def loss(self, model: torch.nn.Module, items: list[Example], total: float | None) -> torch.Tensor:
        device = next(model.parameters()).device
        if self.packing:
            batch = {k: v.to(device) for k, v in collate_packed(items, self.pad_id).items()}
            batch["use_cache"] = False  # a cache would turn the packed-sequence masking off
        else:
            batch = {k: v.to(device) for k, v in collate(items, self.pad_id).items()}
        if total is None:
            return model(**batch).loss
        return model(**batch, num_items_in_batch=torch.tensor(total)).loss
