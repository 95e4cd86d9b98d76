"""Reward functions for GRPO: the rule grader, an outcome RM, or a process RM, behind one call.

Each scorer maps a rollout batch and its gold answers to `Scored`: the `Rewards` the advantage
estimator consumes, plus the rule grader's verdict, which is always computed so that a model
reward can be logged side by side with the truth (reward hacking shows up as falling agreement).
Every tensor a scorer returns lives on the rollout batch's device (the policy's), so that the
estimators never mix devices.
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
from rl.shared_prompt import group_starts, shared_prompt_scores
from rl.steps import step_end_positions


@dataclass(frozen=True)
class Scored:
    rewards: Rewards
    correct: torch.Tensor  # (B,) 1.0 where the rule grader accepts the answer
    model_outcome: torch.Tensor | None = None  # (B,) the reward model's verdict (ORM score, PRM last step)

    @property
    def verdict(self) -> torch.Tensor:
        """What the reward model says of each output's outcome (the rule's own rewards otherwise),
        compared with `correct` to watch for drift."""
        return self.rewards.outcome if self.model_outcome is None else self.model_outcome


class Scorer(Protocol):
    def __call__(self, batch: RolloutBatch, golds: list[str]) -> Scored: ...


class RuleScorer:
    """Outcome reward 1/0 from the shared grader (the paper's rule reward of §5.2.1)."""

    def __call__(self, batch: RolloutBatch, golds: list[str]) -> Scored:
        correct = torch.tensor(rule_rewards(batch.completions, golds), device=batch.groups.device)
        return Scored(Rewards(correct), correct)


class RewardModelScorer:
    """Outcome RM (score at the last token) or process RM (score at every step end).

    rule_outcome: the outcome reward is the rule grade and the PRM gives only the step rewards
    (the PRIME-style ablation combines a verifiable outcome with process rewards).
    shared_prompt: each group's prompt runs once (`rl.shared_prompt.shared_prompt_scores`; the
    same scores up to float summation order) when the rows come grouped and none is empty."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, process: bool, delimiter: str = "\n",
                 rule_outcome: bool = False, shared_prompt: bool = False) -> None:
        self.model, self.tokenizer, self.process, self.delimiter = model.eval(), tokenizer, process, delimiter
        self.rule_outcome = rule_outcome
        self.shared_prompt = shared_prompt

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
        device = batch.groups.device
        correct = torch.tensor(rule_rewards(batch.completions, golds), device=device)
        examples, ends_per_row = self.examples(batch)
        if self.shared_prompt and group_starts(batch) is not None and bool((batch.completion_mask.sum(-1) > 0).all()):
            scores = shared_prompt_scores(self.model, batch, ends_per_row)
        else:
            scores = score(self.model, examples, self.tokenizer.pad_token_id)
        verdict = torch.tensor([s[-1] for s in scores], device=device)
        outcome = correct if self.rule_outcome else verdict
        if not self.process:
            return Scored(Rewards(outcome), correct, verdict)
        # Built as Python lists, then moved once: one transfer per tensor, not one per row.
        width = max(len(s) for s in scores)
        step_rewards = [s + [0.0] * (width - len(s)) for s in scores]
        step_ends = [ends + [0] * (width - len(ends)) for ends in ends_per_row]
        step_mask = [[1.0] * len(s) + [0.0] * (width - len(s)) for s in scores]
        return Scored(Rewards(outcome, torch.tensor(step_rewards, device=device),
                              torch.tensor(step_ends, dtype=torch.long, device=device),
                              torch.tensor(step_mask, device=device)), correct, verdict)
