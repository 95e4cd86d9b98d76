"""Outcome and process reward models: the policy's architecture with a scalar head (§4.1, §4.2).

Both are `AutoModelForTokenClassification(num_labels=1)` initialised from a policy checkpoint:
the backbone is the language model, the head reads one logit per token. An ORM is scored at the
last token of each completion, a PRM at the last token of every reasoning step (Math-Shepherd,
arXiv 2312.08935, §3.3); both are trained with binary cross-entropy at those positions. So one
model class serves both, and an ORM is a PRM whose only step is the whole completion.

Departure: the paper builds its reward model on DeepSeekMath-Base 7B with lr 2e-5; the embedded
default starts from the SFT model, the only capable backbone it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import AutoModelForTokenClassification, PreTrainedModel

from training.loop import draw_indices
from training.model import torch_dtype


@dataclass(frozen=True)
class RMExample:
    """One scored sequence: prompt + completion ids, and labels at chosen token positions."""

    ids: tuple[int, ...]
    positions: tuple[int, ...]  # absolute indices into ids (step ends, or the last token for an ORM)
    labels: tuple[float, ...]  # targets in [0, 1] (hard 0/1 or Math-Shepherd soft estimates)
    question: int = -1  # index of the question it answers (held-out splits and best-of-N group by it)


def build_reward_model(policy_dir: str, dtype: str = "float32") -> PreTrainedModel:
    """A reward model whose backbone is the policy checkpoint and whose head is new."""
    model = AutoModelForTokenClassification.from_pretrained(policy_dir, num_labels=1, dtype=torch_dtype(dtype))
    model.config.problem_type = "regression"  # we compute BCE ourselves at chosen positions
    return model


def collate_rm(batch: list[RMExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids and mask, and (rows, positions, labels) index tensors of the scored tokens."""
    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, labels = [], [], []
    for r, e in enumerate(batch):
        ids[r, : len(e.ids)] = torch.tensor(e.ids)
        mask[r, : len(e.ids)] = 1
        rows += [r] * len(e.positions)
        cols += list(e.positions)
        labels += list(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "rows": torch.tensor(rows), "cols": torch.tensor(cols),
            "labels": torch.tensor(labels, dtype=torch.float32)}


def position_logits(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Head logits at the scored positions, flattened in batch order."""
    device = next(model.parameters()).device
    logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits[..., 0]
    return logits[batch["rows"].to(device), batch["cols"].to(device)].float()


class RMLoss:
    """Binary cross-entropy at the scored positions of a batch drawn by a (seed, step) generator
    (`training.loop.BatchLoss`), averaged over positions."""

    def __init__(self, examples: list[RMExample], batch_size: int, pad_id: int, seed: int) -> None:
        self.examples, self.batch_size, self.pad_id, self.seed = examples, batch_size, pad_id, seed

    def draw(self, step: int) -> list[RMExample]:
        return [self.examples[i] for i in draw_indices(len(self.examples), self.batch_size, self.seed, step)]

    def count(self, items: list[RMExample]) -> float:
        return float(sum(len(e.positions) for e in items))

    def loss(self, model: torch.nn.Module, items: list[RMExample], total: float | None) -> torch.Tensor:
        batch = collate_rm(items, self.pad_id)
        logits = position_logits(model, batch)
        labels = batch["labels"].to(logits.device)
        if total is None:
            return F.binary_cross_entropy_with_logits(logits, labels)
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / total


@torch.no_grad()
def score(model: PreTrainedModel, examples: list[RMExample], pad_id: int, batch_size: int = 64) -> list[list[float]]:
    """Reward in (0, 1) (sigmoid of the head) at each example's positions."""
    model.eval()
    out: list[list[float]] = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        probs = torch.sigmoid(position_logits(model, collate_rm(chunk, pad_id))).tolist()
        for e in chunk:
            out.append(probs[: len(e.positions)])
            probs = probs[len(e.positions) :]
    return out


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) identity; ties count one half."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return math.nan
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def accuracy(scores: list[float], labels: list[float], threshold: float = 0.5) -> float:
    """Share of positions where (score > threshold) agrees with (label > threshold)."""
    if not scores:
        return math.nan
    return sum((s > threshold) == (y > threshold) for s, y in zip(scores, labels)) / len(scores)


def heldout_metrics(model: PreTrainedModel, examples: list[RMExample], pad_id: int) -> dict[str, float]:
    """AUC and accuracy over every scored position of held-out examples (ORM: one per example,
    PRM: one per step, i.e. step-level accuracy), with labels above 0.5 counted as positive,
    plus best-of-N reranking of each held-out question's solutions (`best_of_n`)."""
    rows = score(model, examples, pad_id)
    scores = [s for row in rows for s in row]
    labels = [y for e in examples for y in e.labels]
    binary = [int(y > 0.5) for y in labels]
    return {"auc": auc(scores, binary), "accuracy": accuracy(scores, labels),
            "positives_frac": sum(binary) / max(1, len(binary)), "positions": len(labels),
            **best_of_n(examples, rows)}


def best_of_n(examples: list[RMExample], scores: list[list[float]]) -> dict[str, float]:
    """Best-of-N reranking, the policy-facing test of a verifier (Math-Shepherd §4; the PRM
    literature's standard): per question, pick the solution the reward model scores highest and
    grade it. A solution's score is the minimum over its step scores (Math-Shepherd's rule; an
    ORM has one score) and, as a variant, its last step's score; its grade is its last label,
    the rule grade of the whole solution in both the ORM and the PRM data. Also given: the
    accuracy of a random pick (mean accuracy) and of an oracle (any solution correct, pass@N),
    and the within-question AUC: over pairs of a correct and a wrong solution of one question,
    the share the reward model orders right (ties count one half). GRPO normalises rewards
    within a question's group, so this, not the AUC over all solutions (which an RM also earns
    by telling easy questions from hard ones), is what its advantages see.
    Ties go to the first solution in data order. Only questions with at least two solutions
    count."""
    by_question: dict[int, list[tuple[float, float, bool]]] = {}
    for e, s in zip(examples, scores):
        if e.question >= 0 and s:
            by_question.setdefault(e.question, []).append((min(s), s[-1], e.labels[-1] > 0.5))
    groups = [g for g in by_question.values() if len(g) >= 2]
    if not groups:
        return {"best_of_n": math.nan, "best_of_n_last": math.nan, "random_of_n": math.nan,
                "oracle_of_n": math.nan, "auc_within_question": math.nan, "questions": 0, "n": 0}
    pairs = [(p[0] > q[0]) + 0.5 * (p[0] == q[0]) for g in groups for p in g if p[2] for q in g if not q[2]]
    pick = lambda g, k: max(g, key=lambda t: t[k])[2]  # noqa: E731 - max keeps the first of equal scores
    n = len(groups)
    return {"best_of_n": sum(pick(g, 0) for g in groups) / n, "best_of_n_last": sum(pick(g, 1) for g in groups) / n,
            "random_of_n": sum(sum(t[2] for t in g) / len(g) for g in groups) / n,
            "oracle_of_n": sum(any(t[2] for t in g) for g in groups) / n,
            "auc_within_question": sum(pairs) / len(pairs) if pairs else math.nan,
            "questions": n, "n": max(len(g) for g in groups)}
