"""Reward-model data: sampling, JSON round trip with validation, held-out split, 10% replay."""

import pytest

from rl.reward_model import RMExample
from rl.rm_data import from_record, replay_mix, sample_solutions, split_heldout, to_record


def ex(i):
    return RMExample((i, i + 1), (1,), (float(i % 2),))


def test_record_round_trip_and_validation():
    e = RMExample((5, 6, 7), (1, 2), (0.25, 1.0))
    assert from_record(to_record(e)) == e
    for bad in ({"ids": [1], "positions": [3], "labels": [1.0]}, {"ids": [1, 2], "positions": [0]},
                {"ids": [1, 2], "positions": [0, 1], "labels": [1.0]}):
        with pytest.raises(ValueError):
            from_record(bad)


def test_split_heldout_sizes_and_determinism():
    data = [ex(i) for i in range(20)]
    train, held = split_heldout(data, 0.1, seed=3)
    assert len(held) == 2 and len(train) == 18 and set(train).isdisjoint(held)
    assert split_heldout(data, 0.1, seed=3) == (train, held)


def test_replay_keeps_ten_percent_of_history():
    new = [ex(i) for i in range(100, 105)]
    history = [ex(i) for i in range(50)]
    mixed = replay_mix(new, history, 0.1, seed=0)
    assert mixed[:5] == new and len(mixed) == 5 + 5
    assert set(mixed[5:]) <= set(history)
    assert replay_mix(new, history, 0.1, seed=0) == mixed
    assert replay_mix(new, [], 0.1, seed=0) == new


def test_sample_solutions_layout(tiny_model, tokenizer, problems):
    sols = sample_solutions(tiny_model, tokenizer, problems[0][:3], n=2, max_new_tokens=6, temperature=1.0, seed=0)
    assert len(sols) == 6
    for s in sols:
        assert s.step_ends and s.step_ends[-1] == len(s.completion_ids) - 1
        assert s.gold.lstrip("-").isdigit()


def test_split_heldout_by_question_keeps_questions_whole():
    data = [RMExample((i, q), (1,), (float(i % 2),), q) for q in range(10) for i in range(4)]
    train, held = split_heldout(data, 0.2, seed=1)
    held_q = {e.question for e in held}
    assert len(held_q) == 2 and len(held) == 8
    assert held_q.isdisjoint({e.question for e in train}) and len(train) == 32
    assert split_heldout(data, 0.2, seed=1) == (train, held)


def test_record_keeps_the_question_and_reads_old_records():
    e = RMExample((5, 6, 7), (1, 2), (0.25, 1.0), 7)
    assert from_record(to_record(e)) == e
    assert from_record({"ids": [1, 2], "positions": [1], "labels": [1.0]}).question == -1
    with pytest.raises(ValueError, match="question"):
        from_record({"ids": [1, 2], "positions": [1], "labels": [1.0], "question": "x"})


def test_sampled_solutions_carry_their_question(tiny_model, tokenizer, problems):
    sols = sample_solutions(tiny_model, tokenizer, problems[0][:3], n=2, max_new_tokens=4, temperature=1.0, seed=0)
    assert [s.question for s in sols] == [0, 0, 1, 1, 2, 2]
