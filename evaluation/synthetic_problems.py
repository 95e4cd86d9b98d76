"""Synthetic GSM8K-format arithmetic word problems: the embedded default's benchmark.

Each problem is a short story with 1 to `max_ops` additions or subtractions on small numbers,
a chain-of-thought solution with one line per operation, and a final `#### N` line, exactly the
layout of GSM8K's `answer` field. Difficulty is set by `max_ops` and `max_number`: the guide's
measurements on a 1M-parameter model show that operands under 20 with 1-3 operations leave an
SFT model right about two times in three, which is where RL still has headroom.

Departure from the paper: DeepSeekMath trains and evaluates on GSM8K/MATH; these problems stand in
for them on a CPU. Train and test are disjoint by construction (a question text that appears in
the test split is never emitted in train).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = (
    "Tom", "Anna", "Ben", "Lily", "Sam", "Maria", "Omar", "Nina", "Leo", "Ruth", "Ivan", "Zoe",
    "Kofi", "Mei", "Raj", "Elena", "Hugo", "Sara", "Jack", "Aisha",
)
OBJECTS = (
    "apples", "marbles", "stickers", "books", "coins", "pencils", "cards", "shells", "cookies",
    "stamps", "balloons", "eggs", "toys", "flowers", "candies", "rocks",
)
# Each verb phrase says how the count changes; "{n}" is the amount, "{o}" the object.
GAINS = (
    "buys {n} more {o}", "finds {n} more {o}", "gets {n} {o} from a friend",
    "receives {n} {o} as a gift", "picks up {n} more {o}", "wins {n} {o}",
)
LOSSES = (
    "gives away {n} {o}", "loses {n} {o}", "eats {n} {o}", "sells {n} {o}",
    "gives {n} {o} to a friend", "drops {n} {o}",
)


@dataclass(frozen=True)
class ProblemsConfig:
    """Size and difficulty of the synthetic problem splits."""

    n_train: int  # training problems (SFT and RL questions)
    n_test: int  # held-out test problems (evaluation; planted into the web for decontamination)
    max_ops: int  # each problem has 1..max_ops operations
    max_number: int  # operands and the starting amount are drawn from 1..max_number

    def __post_init__(self) -> None:
        if self.n_train < 1:
            raise ValueError(f"n_train: must be >= 1, got {self.n_train}")
        if self.n_test < 1:
            raise ValueError(f"n_test: must be >= 1, got {self.n_test}")
        if not 1 <= self.max_ops <= 6:
            raise ValueError(f"max_ops: must be in 1..6, got {self.max_ops}")
        if self.max_number < 2:
            raise ValueError(f"max_number: must be >= 2, got {self.max_number}")


def make_problem(rng: random.Random, max_ops: int, max_number: int) -> dict:
    """One problem: question, GSM8K-style answer (chain of thought + `#### N`)."""
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    start = total = rng.randint(1, max_number)
    sentences = [f"{name} has {start} {obj}."]
    steps = [f"{name} starts with {start} {obj}."]
    for i in range(rng.randint(1, max_ops)):
        # Subtract only what is there, so every intermediate count is a real count (>= 0).
        if total > 0 and rng.random() < 0.5:
            n = rng.randint(1, min(total, max_number))
            phrase, new, sign = rng.choice(LOSSES), total - n, "-"
        else:
            n = rng.randint(1, max_number)
            phrase, new, sign = rng.choice(GAINS), total + n, "+"
        event = phrase.format(n=n, o=obj)
        sentences.append(f"{'Then ' + name if i else name} {event}.")
        steps.append(f"{name} {event}, so {total} {sign} {n} = {new}.")
        total = new
    question = " ".join(sentences) + f" How many {obj} does {name} have now?"
    return {"question": question, "answer": "\n".join([*steps, f"#### {total}"])}


def make_splits(cfg: ProblemsConfig, seed: int) -> tuple[list[dict], list[dict]]:
    """Disjoint (train, test) splits with stable ids `synthetic-train/i`, `synthetic-test/i`."""
    rng = random.Random(seed)
    test, seen = [], set()
    # Bounded attempts: a tiny difficulty setting may not have n_test distinct questions.
    for _ in range(cfg.n_test * 50):
        if len(test) == cfg.n_test:
            break
        p = make_problem(rng, cfg.max_ops, cfg.max_number)
        if p["question"] not in seen:
            seen.add(p["question"])
            test.append({"id": f"synthetic-test/{len(test)}", **p})
    if len(test) < cfg.n_test:
        raise ValueError(f"n_test: only {len(test)} distinct problems exist at this difficulty")
    train = []
    while len(train) < cfg.n_train:
        p = make_problem(rng, cfg.max_ops, cfg.max_number)
        if p["question"] not in seen:  # repeats inside train are fine, leaks into test are not
            train.append({"id": f"synthetic-train/{len(train)}", **p})
    return train, test
