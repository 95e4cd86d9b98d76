"""Reward-model training data: sample solutions from a policy, then label them.

ORM labels are the rule grader's verdict at the last token; PRM labels come from Math-Shepherd
estimation at every step end (`rl/shepherd.py`). Examples are stored as JSON lines
`{ids, positions, labels}`. `replay_mix` implements §4.1.4's replay: the next reward-model
training set is the new data plus a seeded 10% (a param) of all historical data.
"""

from __future__ import annotations

import random

import torch
from accelerate import PartialState
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from generation.engine import Engine, SamplingSpec, progress_bar
from generation.hf_engine import HFEngine
from rl.reward_model import RMExample
from rl.shepherd import Solution
from rl.steps import step_end_positions


def sample_solutions(policy: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase, problems: list[dict], n: int,
                     max_new_tokens: int, temperature: float, seed: int, questions_per_batch: int = 16,
                     engine: Engine | None = None) -> list[Solution]:
    """n sampled solutions per problem (normalised, with a rendered `prompt`), with their step
    ends, in problem order; each carries its problem's index in `problems`.

    Without `engine`, `policy` samples `questions_per_batch` questions per seeded `generate`
    call (batch b seeded seed * 7919 + b), with a static KV cache on CPU.
    """
    if not problems:
        return []
    if engine is None:
        engine = HFEngine(policy, tokenizer, batch_size=questions_per_batch * n, static_cache=True)
    prompts = tokenizer([p["prompt"] for p in problems], add_special_tokens=False)["input_ids"]
    spec = SamplingSpec(n=n, temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens, seed=seed * 7919)
    # The engine's bar, per chunk of questions: on the main process only, as in training/loop.py.
    with progress_bar(engine, "rm_data: sample solutions", PartialState().is_main_process):
        sampled = engine.sample(prompts, spec)
    out: list[Solution] = []
    for q, (problem, samples) in enumerate(zip(problems, sampled)):
        for s in samples:
            completion = list(s.token_ids) or [tokenizer.eos_token_id]
            out.append(Solution(s.prompt_ids, tuple(completion),
                                tuple(step_end_positions(completion, tokenizer)), problem["answer"], q))
    return out


def to_record(example: RMExample) -> dict:
    return {"ids": list(example.ids), "positions": list(example.positions), "labels": list(example.labels),
            "question": example.question}


def from_record(record: dict) -> RMExample:
    """Inverse of `to_record`; a malformed record raises ValueError (the caller counts it)."""
    ids, positions, labels = record.get("ids"), record.get("positions"), record.get("labels")
    if not (isinstance(ids, list) and isinstance(positions, list) and isinstance(labels, list)):
        raise ValueError("record needs lists `ids`, `positions` and `labels`")
    if len(positions) != len(labels) or not positions or max(positions) >= len(ids) or min(positions) < 0:
        raise ValueError("positions and labels must match and index into ids")
    question = record.get("question", -1)  # absent in data written before questions were recorded
    if not isinstance(question, int) or isinstance(question, bool):
        raise ValueError("`question` must be an integer")
    return RMExample(tuple(int(i) for i in ids), tuple(int(p) for p in positions), tuple(float(y) for y in labels),
                     question)


def split_heldout(examples: list[RMExample], frac: float, seed: int) -> tuple[list[RMExample], list[RMExample]]:
    """Seeded (train, held-out) split by question: held-out gets round(frac * questions) whole
    questions, so no solution of a held-out question is trained on (several solutions of one
    question share its prompt and often its steps; a split by solution leaks them). Examples
    without a question (index -1) are each their own unit."""
    units = sorted({e.question if e.question >= 0 else -1 - i for i, e in enumerate(examples)})
    random.Random(seed).shuffle(units)
    held = set(units[: round(frac * len(units))])
    unit = lambda i, e: e.question if e.question >= 0 else -1 - i  # noqa: E731
    train = [e for i, e in enumerate(examples) if unit(i, e) not in held]
    return train, [e for i, e in enumerate(examples) if unit(i, e) in held]


def replay_mix(new: list[RMExample], history: list[RMExample], ratio: float, seed: int) -> list[RMExample]:
    """New data plus a seeded sample of `ratio` x len(history) historical examples (§4.1.4)."""
    k = round(ratio * len(history))
    gen = torch.Generator().manual_seed(seed)
    picked = torch.randperm(len(history), generator=gen)[:k].tolist() if k else []
    return list(new) + [history[i] for i in sorted(picked)]
