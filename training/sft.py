"""Chain-of-thought SFT: the prompt is context, the loss is on the solution tokens and EOS only.

Paper §3.2 trains on 776K CoT/PoT/tool examples for 500 steps at batch 256 with a constant lr;
the embedded default uses synthetic CoT arithmetic and a warm-up + cosine schedule, which the
guide measured to converge faster for a model trained from scratch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from evaluation.prompts import format_prompt, training_target

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
    for p in problems:
        if not p["solution"].strip():
            counts["missing_solution"] += 1
            continue
        prompt = tokenizer(format_prompt(fmt, p["question"], tokenizer), add_special_tokens=False)["input_ids"]
        target = tokenizer(training_target(p, fmt), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
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


def sft_loss_fn(examples: list[Example], batch_size: int, pad_id: int, seed: int) -> Callable[[torch.nn.Module, int, int], torch.Tensor]:
    """`(model, step, rank) -> loss`: mean cross-entropy over the solution tokens of a batch
    drawn by a (seed, step, rank) generator."""

    def batch_loss(model: torch.nn.Module, step: int, rank: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step + rank * 7_919)
        idx = torch.randint(len(examples), (batch_size,), generator=gen).tolist()
        device = next(model.parameters()).device
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in idx], pad_id).items()}
        return model(**batch).loss

    return batch_loss
