"""Gradient coefficients (§4.1.2, §4.1.3, Table 10) against hand-computed values, and the registry."""

import math

import pytest
import torch

from rl.advantages import (
    ADVANTAGE_ESTIMATORS,
    AdvantageOptions,
    Rewards,
    get_estimator,
    group_normalize,
    normalize,
    zero_std_groups,
)

NO_EPS = AdvantageOptions(std_eps=0.0)


def test_group_normalize_hand_values():
    # Group 0: rewards 1,0,0,1 -> mean 0.5, sample std sqrt(1/3) -> +-0.5 / 0.57735 = +-0.866025
    # Group 1: rewards 1,1,1,0 -> mean 0.75, sample std 0.5 -> 0.5, 0.5, 0.5, -1.5
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    adv = group_normalize(rewards, groups, NO_EPS)
    a = 0.5 / math.sqrt(1 / 3)
    expected = torch.tensor([a, -a, -a, a, 0.5, 0.5, 0.5, -1.5])
    assert torch.allclose(adv, expected, atol=1e-5)


def test_without_std_scaling_only_the_mean_is_removed():
    adv = group_normalize(torch.tensor([1.0, 1.0, 1.0, 0.0]), torch.zeros(4, dtype=torch.long),
                          AdvantageOptions(std_eps=0.0, scale_by_std=False))
    assert torch.allclose(adv, torch.tensor([0.25, 0.25, 0.25, -0.75]))


def test_equal_rewards_give_zero_advantage_not_nan():
    adv = group_normalize(torch.ones(4), torch.zeros(4, dtype=torch.long), AdvantageOptions(std_eps=1e-4))
    assert torch.equal(adv, torch.zeros(4))


def test_normalize_uses_the_sample_std_and_a_single_value_gives_zero():
    # 1, 2, 3, 6 -> mean 3, sample std sqrt((4 + 1 + 0 + 9) / 3) = sqrt(14/3) = 2.160247
    adv = normalize(torch.tensor([1.0, 2.0, 3.0, 6.0]), NO_EPS)
    assert torch.allclose(adv, torch.tensor([-2.0, -1.0, 0.0, 3.0]) / math.sqrt(14 / 3), atol=1e-6)
    assert torch.equal(normalize(torch.tensor([5.0]), AdvantageOptions(std_eps=1e-4)), torch.zeros(1))


def test_group_normalize_matches_a_loop_over_interleaved_groups():
    torch.manual_seed(1)
    rewards = torch.rand(12, dtype=torch.float64)  # float64 in, float32 out
    groups = torch.tensor([2, 0, 1, 0, 2, 1, 1, 0, 2, 0, 1, 2])
    adv = group_normalize(rewards, groups, AdvantageOptions(std_eps=1e-4))
    assert adv.dtype == torch.float32
    for g in range(3):
        r = rewards[groups == g].float()
        assert torch.allclose(adv[groups == g], (r - r.mean()) / (r.std() + 1e-4), atol=1e-5)

def test_outcome_broadcasts_over_completion_tokens_only():
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    adv = get_estimator("outcome")(Rewards(torch.tensor([1.0, 0.0])), torch.tensor([0, 0]), mask, NO_EPS)
    s = 1 / math.sqrt(2)  # mean 0.5, sample std 0.7071
    assert torch.allclose(adv, torch.tensor([[0.5 / s, 0.5 / s, 0.0], [-0.5 / s, 0.0, 0.0]]), atol=1e-6)


def test_sft_and_rft_coefficients_are_table_10():
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    rewards = Rewards(torch.tensor([0.0, 1.0]))
    groups = torch.tensor([0, 0])
    assert torch.equal(get_estimator("sft")(rewards, groups, mask, NO_EPS), mask)
    assert torch.equal(get_estimator("rft")(rewards, groups, mask, NO_EPS),
                       torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))


def test_process_supervision_hand_values():
    # One group of two outputs over T = 5 completion tokens.
    # Output 0: steps ending at tokens 1 and 4 with rewards 0.9, 0.1.
    # Output 1: one step ending at token 2 with reward 0.5 (its second step slot is padding).
    # R = {0.9, 0.1, 0.5}: mean 0.5, sample std 0.4 -> normalised 1.0, -1.0, 0.0.
    # Output 0: tokens 0-1 see steps 1 and 2 (1.0 - 1.0 = 0); tokens 2-4 see step 2 only (-1.0).
    # Output 1: tokens 0-2 see its one step (0.0); tokens 3-4 are masked.
    rewards = Rewards(
        outcome=torch.tensor([0.0, 0.0]),
        step_rewards=torch.tensor([[0.9, 0.1], [0.5, 0.0]]),
        step_ends=torch.tensor([[1, 4], [2, 0]]),
        step_mask=torch.tensor([[1.0, 1.0], [1.0, 0.0]]),
    )
    mask = torch.tensor([[1.0] * 5, [1.0, 1.0, 1.0, 0.0, 0.0]])
    adv = get_estimator("process")(rewards, torch.tensor([0, 0]), mask, NO_EPS)
    expected = torch.tensor([[0.0, 0.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(adv, expected, atol=1e-5)


def test_process_matches_a_loop_over_steps():
    torch.manual_seed(0)
    b, s, t = 6, 3, 7
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    step_rewards = torch.rand(b, s)
    step_ends = torch.sort(torch.randint(0, t, (b, s)), dim=1).values
    step_mask = torch.ones(b, s)
    mask = torch.ones(b, t)
    adv = get_estimator("process")(Rewards(torch.zeros(b), step_rewards, step_ends, step_mask), groups, mask, NO_EPS)
    for row in range(b):
        r = step_rewards[groups == groups[row]].flatten()
        for tok in range(t):
            want = sum((step_rewards[row, j] - r.mean()) / r.std() for j in range(s) if step_ends[row, j] >= tok)
            assert adv[row, tok].item() == pytest.approx(float(want), abs=1e-5)


def test_process_without_step_rewards_is_a_clear_error():
    with pytest.raises(ValueError, match="process reward model"):
        get_estimator("process")(Rewards(torch.zeros(2)), torch.tensor([0, 0]), torch.ones(2, 3), NO_EPS)


def test_zero_std_groups_flags_whole_groups():
    flags = zero_std_groups(torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0]), torch.tensor([0, 0, 1, 1, 2, 2]))
    assert flags.tolist() == [True, True, False, False, True, True]


def test_unknown_estimator_names_the_choices():
    with pytest.raises(ValueError, match="outcome"):
        get_estimator("nope")
    assert {"sft", "rft", "outcome", "process"} <= set(ADVANTAGE_ESTIMATORS)
