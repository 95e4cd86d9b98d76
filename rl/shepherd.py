"""Process labels by Math-Shepherd estimation (arXiv 2312.08935, §3.3), for the PRM.

For every step prefix of a sampled solution, a completer (the SFT policy) samples N continuations;
the step's soft label is the share of continuations that reach the gold answer, its hard label is
1 if any does. The last step's label is the grade of the solution itself (its continuation is
empty). Outcome labels for the ORM are that same grade at the last token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evaluation.grader import is_correct
from rl.reward_model import RMExample


@dataclass(frozen=True)
class Solution:
    """A sampled solution to label: ids of prompt and completion, its step ends, the gold answer."""

    prompt_ids: tuple[int, ...]
    completion_ids: tuple[int, ...]  # without padding; may end with EOS
    step_ends: tuple[int, ...]  # indices into completion_ids
    gold: str


@torch.no_grad()
def continue_from(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prefixes: list[list[int]], n: int,
                  max_new_tokens: int, temperature: float, seed: int, batch_size: int = 64) -> list[list[str]]:
    """n sampled continuations (text) of each token prefix, left-padded in batches."""
    out: list[list[str]] = []
    per_batch = max(1, batch_size // n)
    model.eval()
    for b, start in enumerate(range(0, len(prefixes), per_batch)):
        chunk = prefixes[start : start + per_batch]
        width = max(len(p) for p in chunk)
        ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, p in enumerate(chunk):
            ids[r, width - len(p) :] = torch.tensor(p)
            mask[r, width - len(p) :] = 1
        torch.manual_seed(seed + b)
        gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_k=0,
                             max_new_tokens=max_new_tokens, num_return_sequences=n,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        texts = tokenizer.batch_decode(gen[:, width:], skip_special_tokens=True)
        out += [texts[i : i + n] for i in range(0, len(texts), n)]
    return out


def shepherd_examples(completer: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, solutions: list[Solution],
                      n: int, max_new_tokens: int, temperature: float, seed: int, soft: bool) -> list[RMExample]:
    """One PRM example per solution with a label at every step end (soft or hard estimation)."""
    prefixes, owners = [], []
    for s_idx, sol in enumerate(solutions):
        for end in sol.step_ends[:-1]:  # the last step is graded directly below
            prefixes.append(list(sol.prompt_ids) + list(sol.completion_ids[: end + 1]))
            owners.append((s_idx, end))
    continuations = continue_from(completer, tokenizer, prefixes, n, max_new_tokens, temperature, seed)
    estimates: dict[tuple[int, int], float] = {}
    for (s_idx, end), texts in zip(owners, continuations):
        sol = solutions[s_idx]
        head = tokenizer.decode(list(sol.completion_ids[: end + 1]), skip_special_tokens=True)
        hits = [is_correct(head + t, sol.gold) for t in texts]
        estimates[(s_idx, end)] = sum(hits) / n if soft else float(any(hits))
    examples = []
    for s_idx, sol in enumerate(solutions):
        final = float(is_correct(tokenizer.decode(list(sol.completion_ids), skip_special_tokens=True), sol.gold))
        labels = [estimates[(s_idx, e)] for e in sol.step_ends[:-1]] + [final]
        positions = [len(sol.prompt_ids) + e for e in sol.step_ends]
        examples.append(RMExample(sol.prompt_ids + sol.completion_ids, tuple(positions), tuple(labels)))
    return examples


def outcome_examples(tokenizer: PreTrainedTokenizerBase, solutions: list[Solution]) -> list[RMExample]:
    """ORM examples: the rule grade of each solution at its last token."""
    out = []
    for sol in solutions:
        grade = float(is_correct(tokenizer.decode(list(sol.completion_ids), skip_special_tokens=True), sol.gold))
        out.append(RMExample(sol.prompt_ids + sol.completion_ids, (len(sol.prompt_ids) + len(sol.completion_ids) - 1,), (grade,)))
    return out
