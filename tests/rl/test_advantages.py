"""Outcome-supervision advantages (§4.1.2) against hand-computed values, and the registry."""

import math

import pytest
import torch

from rl.advantages import ADVANTAGE_ESTIMATORS, get_estimator, group_normalize, zero_std_groups


def test_group_normalize_hand_values():
    # Group 0: rewards 1,0,0,1 -> mean 0.5, sample std sqrt(1/3) -> +-0.5 / 0.57735 = +-0.866025
    # Group 1: rewards 1,1,1,0 -> mean 0.75, sample std 0.5 -> 0.5, 0.5, 0.5, -1.5
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    adv = group_normalize(rewards, groups, std_eps=0.0)
    a = 0.5 / math.sqrt(1 / 3)
    expected = torch.tensor([a, -a, -a, a, 0.5, 0.5, 0.5, -1.5])
    assert torch.allclose(adv, expected, atol=1e-5)


def test_equal_rewards_give_zero_advantage_not_nan():
    adv = group_normalize(torch.ones(4), torch.zeros(4, dtype=torch.long), std_eps=1e-4)
    assert torch.equal(adv, torch.zeros(4))


def test_outcome_broadcasts_over_completion_tokens_only():
    rewards = torch.tensor([1.0, 0.0])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    adv = get_estimator("outcome")(rewards, torch.tensor([0, 0]), mask, 0.0)
    s = 1 / math.sqrt(2)  # mean 0.5, sample std 0.7071
    assert torch.allclose(adv, torch.tensor([[0.5 / s, 0.5 / s, 0.0], [-0.5 / s, 0.0, 0.0]]), atol=1e-6)


def test_zero_std_groups_flags_whole_groups():
    flags = zero_std_groups(torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0]), torch.tensor([0, 0, 1, 1, 2, 2]))
    assert flags.tolist() == [True, True, False, False, True, True]


def test_unknown_estimator_names_the_choices():
    with pytest.raises(ValueError, match="outcome"):
        get_estimator("nope")
    assert "outcome" in ADVANTAGE_ESTIMATORS
