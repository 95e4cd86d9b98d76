"""A seeded mixture of problem sets: SFT examples and RL questions drawn from GSM8K and MATH.

`mix` draws round(N * share) problems from each set without repeats and shuffles them together,
where N is `max_problems`, or, when that is 0, the largest N every weighted set can serve
without repeating a problem (min over sets of size / share). The paper's SFT set mixes many
sources (776K examples, §3.2) and its RL questions are the GSM8K and MATH ones (§4.2); the
weights are params because the paper does not give them.
"""

from __future__ import annotations

import random


def mixture_size(sizes: dict[str, int], shares: dict[str, float]) -> int:
    """The largest total that the weighted sets serve without repeats."""
    return int(min(sizes[name] / share for name, share in shares.items() if share > 0))


def mix(sets: dict[str, list[dict]], shares: dict[str, float], max_problems: int,
        seed: int) -> tuple[list[dict], dict[str, int]]:
    """(mixed problems, {set: problems drawn}); a request beyond the sets' size is capped."""
    capacity = mixture_size({name: len(items) for name, items in sets.items()}, shares)
    total = min(max_problems, capacity) if max_problems else capacity
    rng = random.Random(seed)
    drawn: list[dict] = []
    counts: dict[str, int] = {}
    for name in sorted(sets):
        share = shares.get(name, 0.0)
        n = min(len(sets[name]), round(total * share)) if share > 0 else 0
        picked = sorted(rng.sample(range(len(sets[name])), n))
        drawn += [sets[name][i] for i in picked]
        counts[name] = n
    rng.shuffle(drawn)
    return drawn, counts
