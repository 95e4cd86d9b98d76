"""SFT batches grouped by length (`sft.length_groups`): the k batches of a block are exactly the
block's uniform draws, cut in length order; each batch is a pure function of (seed, step), so
resuming draws the same batches; k = 1 keeps plain random batches; padding goes down."""

from __future__ import annotations

import random

import pytest

from training.loop import draw_indices
from training.sft import Example, SFTLoss


def examples(n: int = 300, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(10, 120)
        out.append(Example(ids=tuple(range(length)), n_prompt=3))
    return out


def padded_positions(batch: list[Example]) -> int:
    return max(len(e.ids) for e in batch) * len(batch)


def test_one_group_is_the_plain_random_draw():
    ex = examples()
    loss = SFTLoss(ex, 16, 0, seed=5, length_groups=1)
    for step in (0, 3, 11):
        assert loss.draw(step) == [ex[i] for i in draw_indices(len(ex), 16, 5, step)]


def test_a_block_is_its_draws_cut_in_length_order():
    ex, k, b = examples(), 4, 16
    loss = SFTLoss(ex, b, 0, seed=1, length_groups=k)
    for block in range(3):
        batches = [loss.draw(block * k + slot) for slot in range(k)]
        drawn = sorted(draw_indices(len(ex), b * k, 1, -1 - block), key=lambda i: (len(ex[i].ids), i))
        # Each batch is one contiguous slice of the sorted draws, and together they are all of them.
        slices = [[ex[i] for i in drawn[j * b : (j + 1) * b]] for j in range(k)]
        assert sorted(map(id, sum(batches, []))) == sorted(map(id, sum(slices, [])))
        assert all(batch in slices for batch in batches)
        # Within a batch, lengths span one slice of the sorted order: max - min <= the block's spread.
        for batch in batches:
            lengths = [len(e.ids) for e in batch]
            assert lengths == sorted(lengths)


def test_draws_repeat_for_the_same_step_and_differ_across_blocks():
    ex = examples()
    a, b = SFTLoss(ex, 16, 0, seed=2, length_groups=8), SFTLoss(ex, 16, 0, seed=2, length_groups=8)
    assert [a.draw(s) for s in (13, 0, 7)] == [b.draw(s) for s in (13, 0, 7)]  # order of calls does not matter
    assert a.draw(0) != a.draw(8)


def test_grouping_cuts_padding():
    ex = examples(2000)
    plain = sum(padded_positions(SFTLoss(ex, 32, 0, 0, 1).draw(s)) for s in range(64))
    grouped = sum(padded_positions(SFTLoss(ex, 32, 0, 0, 8).draw(s)) for s in range(64))
    real = sum(len(e.ids) for s in range(64) for e in SFTLoss(ex, 32, 0, 0, 8).draw(s))
    assert grouped < 0.85 * plain
    assert real <= grouped


def test_bad_length_groups_names_the_key():
    from training.config import OptimConfig, SFTConfig

    with pytest.raises(ValueError, match="length_groups"):
        SFTConfig(10, 4, 64, 0, OptimConfig(1e-3, (0.9, 0.95), 0.0, 0.0, 1.0, 1.0), 1, 10, 0)
