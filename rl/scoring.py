"""Reward functions for GRPO: the rule grader, an outcome RM, or a process RM, behind one call.

Each scorer maps a rollout batch and its gold answers to `Scored`: the `Rewards` the advantage
estimator consumes, plus the rule grader's verdict, which is always computed so that a model
reward can be logged side by side with the truth (reward hacking shows up as falling agreement).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from rl.advantages import Rewards
from rl.reward_model import RMExample, score
from rl.rewards import rule_rewards
from rl.rollout import RolloutBatch
from rl.steps import step_end_positions


@dataclass(frozen=True)
class Scored:
    rewards: Rewards
    correct: torch.Tensor  # (B,) 1.0 where the rule grader accepts the answer


class Scorer(Protocol):
    def __call__(self, batch: RolloutBatch, golds: list[str]) -> Scored: ...


class RuleScorer:
    """Outcome reward 1/0 from the shared grader (the paper's rule reward of §5.2.1)."""

    def __call__(self, batch: RolloutBatch, golds: list[str]) -> Scored:
        correct = torch.tensor(rule_rewards(batch.completions, golds))
        return Scored(Rewards(correct), correct)


class RewardModelScorer:
    """Outcome RM (score at the last token) or process RM (score at every step end)."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, process: bool, delimiter: str = "\n") -> None:
        self.model, self.tokenizer, self.process, self.delimiter = model.eval(), tokenizer, process, delimiter

    def examples(self, batch: RolloutBatch) -> tuple[list[RMExample], list[list[int]]]:
        """Unpadded prompt + completion per row, scored at step ends (or at the last token)."""
        out, ends_per_row = [], []
        w = batch.prompt_width
        for row in range(batch.input_ids.shape[0]):
            prompt = batch.input_ids[row, :w][batch.attention_mask[row, :w].bool()].tolist()
            n = int(batch.completion_mask[row].sum())
            completion = batch.input_ids[row, w : w + n].tolist() or [self.tokenizer.eos_token_id]
            ends = step_end_positions(completion, self.tokenizer, self.delimiter) if self.process else [len(completion) - 1]
            out.append(RMExample(tuple(prompt + completion), tuple(len(prompt) + e for e in ends), (0.0,) * len(ends)))
            ends_per_row.append(ends)
        return out, ends_per_row

    def __call__(self, batch: RolloutBatch, golds: list[str]) -> Scored:
        correct = torch.tensor(rule_rewards(batch.completions, golds))
        examples, ends_per_row = self.examples(batch)
        scores = score(self.model, examples, self.tokenizer.pad_token_id)
        outcome = torch.tensor([s[-1] for s in scores])
        if not self.process:
            return Scored(Rewards(outcome), correct)
        width = max(len(s) for s in scores)
        step_rewards = torch.zeros(len(scores), width)
        step_ends = torch.zeros(len(scores), width, dtype=torch.long)
        step_mask = torch.zeros(len(scores), width)
        for b, (s, ends) in enumerate(zip(scores, ends_per_row)):
            step_rewards[b, : len(s)] = torch.tensor(s)
            step_ends[b, : len(s)] = torch.tensor(ends)
            step_mask[b, : len(s)] = 1.0
        return Scored(Rewards(outcome, step_rewards, step_ends, step_mask), correct)
