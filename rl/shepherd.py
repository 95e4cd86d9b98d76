"""Process labels by Math-Shepherd estimation (arXiv 2312.08935, §3.3), for the PRM.

For every step prefix of a sampled solution, a completer (the SFT policy) samples N continuations;
the step's soft label is the share of continuations that reach the gold answer, its hard label is
1 if any does. The last step's label is the grade of the solution itself (its continuation is
empty). Outcome labels for the ORM are that same grade at the last token.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelerate import PartialState
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evaluation.grader import is_correct
from generation.engine import Engine, SamplingSpec, progress_bar
from generation.hf_engine import HFEngine
from rl.reward_model import RMExample


@dataclass(frozen=True)
class Solution:
    """A sampled solution to label: ids of prompt and completion, its step ends, the gold answer."""

    prompt_ids: tuple[int, ...]
    completion_ids: tuple[int, ...]  # without padding; may end with EOS
    step_ends: tuple[int, ...]  # indices into completion_ids
    gold: str
    question: int = -1  # index of the question (held-out splits and best-of-N group by it)


def continue_from(model: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase, prefixes: list[list[int]], n: int,
                  max_new_tokens: int, temperature: float, seed: int, batch_size: int = 64,
                  engine: Engine | None = None) -> list[list[str]]:
    """n sampled continuations (text) of each token prefix.

    Without `engine`, `model` samples max(1, batch_size // n) left-padded prefixes per seeded
    `generate` call (batch b seeded seed + b).
    """
    if not prefixes:
        return []
    if engine is None:
        engine = HFEngine(model, tokenizer, batch_size)
    spec = SamplingSpec(n=n, temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens, seed=seed)
    # The engine's bar, per chunk of prefixes: on the main process only, as in training/loop.py.
    with progress_bar(engine, "shepherd: continue steps", PartialState().is_main_process):
        return [[s.text for s in samples] for samples in engine.sample(prefixes, spec)]


def shepherd_examples(completer: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase, solutions: list[Solution],
                      n: int, max_new_tokens: int, temperature: float, seed: int, soft: bool,
                      engine: Engine | None = None) -> list[RMExample]:
    """One PRM example per solution with a label at every step end (soft or hard estimation).

    The completer samples the continuations: through `engine` when given, else on `completer`."""
    hard, soft_examples = shepherd_both(completer, tokenizer, solutions, n, max_new_tokens, temperature, seed, engine)
    return soft_examples if soft else hard


def shepherd_both(completer: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase, solutions: list[Solution],
                  n: int, max_new_tokens: int, temperature: float, seed: int,
                  engine: Engine | None = None) -> tuple[list[RMExample], list[RMExample]]:
    """(hard, soft) PRM examples from one set of continuations: a step's soft label is the share
    of its n continuations that reach the gold answer, its hard label 1 if any does."""
    prefixes, owners = [], []
    for s_idx, sol in enumerate(solutions):
        for end in sol.step_ends[:-1]:  # the last step is graded directly below
            prefixes.append(list(sol.prompt_ids) + list(sol.completion_ids[: end + 1]))
            owners.append((s_idx, end))
    continuations = continue_from(completer, tokenizer, prefixes, n, max_new_tokens, temperature, seed, engine=engine)
    shares: dict[tuple[int, int], float] = {}
    # Grading n continuations of every step is the other long part (math-verify per text).
    for (s_idx, end), texts in tqdm(zip(owners, continuations), desc="shepherd: grade steps", total=len(owners),
                                    mininterval=2, disable=not PartialState().is_main_process):
        sol = solutions[s_idx]
        head = tokenizer.decode(list(sol.completion_ids[: end + 1]), skip_special_tokens=True)
        shares[(s_idx, end)] = sum(is_correct(head + t, sol.gold) for t in texts) / n
    hard, soft = [], []
    for s_idx, sol in enumerate(solutions):
        final = float(is_correct(tokenizer.decode(list(sol.completion_ids), skip_special_tokens=True), sol.gold))
        fractions = [shares[(s_idx, e)] for e in sol.step_ends[:-1]]
        ids, positions = sol.prompt_ids + sol.completion_ids, tuple(len(sol.prompt_ids) + e for e in sol.step_ends)
        hard.append(RMExample(ids, positions, tuple(float(f > 0) for f in fractions) + (final,), sol.question))
        soft.append(RMExample(ids, positions, tuple(fractions) + (final,), sol.question))
    return hard, soft


def outcome_examples(tokenizer: PreTrainedTokenizerBase, solutions: list[Solution]) -> list[RMExample]:
    """ORM examples: the rule grade of each solution at its last token."""
    out = []
    for sol in solutions:
        grade = float(is_correct(tokenizer.decode(list(sol.completion_ids), skip_special_tokens=True), sol.gold))
        out.append(RMExample(sol.prompt_ids + sol.completion_ids, (len(sol.prompt_ids) + len(sol.completion_ids) - 1,),
                             (grade,), sol.question))
    return out
