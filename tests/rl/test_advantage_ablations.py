"""The ablation estimators beyond the paper, `process_prime` and `process_min`, against hand values."""

import math

import pytest
import torch

from rl.advantages import ADVANTAGE_ESTIMATORS, FLAT_GROUPS_GIVE_ZERO, AdvantageOptions, Rewards, get_estimator

GROUP = torch.tensor([0, 0])


def prime_case() -> tuple[Rewards, torch.Tensor]:
    # Output 0: outcome 1, steps ending at tokens 1 and 4 with rewards 0.9, 0.6; its token 4 is
    # past the completion (mask 0). Output 1: outcome 0, one step ending at token 2 with reward
    # 0.3; its second slot is padding with reward 0.0, which must not enter the group mean.
    rewards = Rewards(
        outcome=torch.tensor([1.0, 0.0]),
        step_rewards=torch.tensor([[0.9, 0.6], [0.3, 0.0]]),
        step_ends=torch.tensor([[1, 4], [2, 0]]),
        step_mask=torch.tensor([[1.0, 1.0], [1.0, 0.0]]),
    )
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0]])
    return rewards, mask


# R = {0.9, 0.6, 0.3}: mean 0.6, centred 0.3, 0.0, -0.3 (never divided by std).
# Process part, w = 2: output 0 tokens 0-1 see both steps 2 * (0.3 + 0.0) = 0.6, tokens 2-3 the
# second step only 2 * 0.0 = 0; output 1 tokens 0-2 see its one step 2 * -0.3 = -0.6.
PRIME_PROCESS = torch.tensor([[0.6, 0.6, 0.0, 0.0, 0.0], [-0.6, -0.6, -0.6, 0.0, 0.0]])


def test_process_prime_without_std_scaling():
    # Outcome part: r = 1, 0 -> mean 0.5 -> +0.5, -0.5 on every real token.
    rewards, mask = prime_case()
    opts = AdvantageOptions(std_eps=0.0, scale_by_std=False, process_weight=2.0)
    adv = get_estimator("process_prime")(rewards, GROUP, mask, opts)
    outcome = torch.tensor([[0.5, 0.5, 0.5, 0.5, 0.0], [-0.5, -0.5, -0.5, 0.0, 0.0]])
    # = [[1.1, 1.1, 0.5, 0.5, 0], [-1.1, -1.1, -1.1, 0, 0]]
    assert torch.allclose(adv, outcome + PRIME_PROCESS, atol=1e-6)


def test_process_prime_scales_only_the_outcome_part():
    # Outcome part: r = 1, 0 -> mean 0.5, sample std sqrt(0.5) -> +-0.5 / 0.70711 = +-0.70711.
    # The process part is the same as without scaling: std only touches the outcome.
    rewards, mask = prime_case()
    opts = AdvantageOptions(std_eps=0.0, scale_by_std=True, process_weight=2.0)
    adv = get_estimator("process_prime")(rewards, GROUP, mask, opts)
    a = 0.5 / math.sqrt(0.5)
    outcome = torch.tensor([[a, a, a, a, 0.0], [-a, -a, -a, 0.0, 0.0]])
    # = [[1.30711, 1.30711, 0.70711, 0.70711, 0], [-1.30711, -1.30711, -1.30711, 0, 0]]
    assert torch.allclose(adv, outcome + PRIME_PROCESS, atol=1e-6)


def test_process_prime_with_zero_weight_is_the_outcome_estimator():
    rewards, mask = prime_case()
    opts = AdvantageOptions(std_eps=1e-4, process_weight=0.0)
    assert torch.allclose(get_estimator("process_prime")(rewards, GROUP, mask, opts),
                          get_estimator("outcome")(rewards, GROUP, mask, opts))


def min_case() -> tuple[Rewards, torch.Tensor]:
    # Output 0: three steps ending at tokens 1, 3, 5 with rewards 0.6, 0.2, 0.8.
    # Output 1: one step ending at token 2 with reward 0.5; two padding slots with reward 0.0,
    # which would be its min if padding counted. Its token 3 is real (mask 1) but lies after
    # its last step; tokens 4-5 are past the completion.
    rewards = Rewards(
        outcome=torch.tensor([0.0, 0.0]),
        step_rewards=torch.tensor([[0.6, 0.2, 0.8], [0.5, 0.0, 0.0]]),
        step_ends=torch.tensor([[1, 3, 5], [2, 0, 0]]),
        step_mask=torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]),
    )
    mask = torch.tensor([[1.0] * 6, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]])
    return rewards, mask


# v = min of the rewards from each step on: output 0 -> min(0.6, 0.2, 0.8) = 0.2, min(0.2, 0.8)
# = 0.2, 0.8; output 1 -> 0.5. Pool V = {0.2, 0.2, 0.8, 0.5}: mean 0.425, centred -0.225,
# -0.225, 0.375, 0.075; squares 0.050625 * 2 + 0.140625 + 0.005625 = 0.2475, sample variance
# 0.2475 / 3 = 0.0825. Each token gets its own step's value (no sum): output 0 tokens 0-1 step 0,
# 2-3 step 1, 4-5 step 2; output 1 tokens 0-2 its step, token 3 after it gets 0.
MIN_CENTRED = torch.tensor([[-0.225, -0.225, -0.225, -0.225, 0.375, 0.375],
                            [0.075, 0.075, 0.075, 0.0, 0.0, 0.0]])


def test_process_min_without_std_scaling():
    rewards, mask = min_case()
    adv = get_estimator("process_min")(rewards, GROUP, mask, AdvantageOptions(std_eps=0.0, scale_by_std=False))
    assert torch.allclose(adv, MIN_CENTRED, atol=1e-6)


def test_process_min_with_std_scaling():
    # Divided by the sample std sqrt(0.0825) = 0.287228: -0.78335, 1.30558, 0.26112.
    rewards, mask = min_case()
    adv = get_estimator("process_min")(rewards, GROUP, mask, AdvantageOptions(std_eps=0.0, scale_by_std=True))
    assert torch.allclose(adv, MIN_CENTRED / math.sqrt(0.0825), atol=1e-5)


def test_process_min_of_one_step_outputs_is_the_normalised_step_reward():
    # Two one-step outputs (rewards 0.9, 0.3, ending at 1 and 2): v = r, mean 0.6, sample std
    # sqrt(0.18) = 0.42426 -> +-0.3 / 0.42426 = +-0.70711 on the tokens of the step.
    rewards = Rewards(torch.zeros(2), torch.tensor([[0.9], [0.3]]), torch.tensor([[1], [2]]), torch.ones(2, 1))
    adv = get_estimator("process_min")(rewards, GROUP, torch.ones(2, 3), AdvantageOptions(std_eps=0.0))
    a = 0.3 / math.sqrt(0.18)
    assert torch.allclose(adv, torch.tensor([[a, a, 0.0], [-a, -a, -a]]), atol=1e-5)


def random_batch(seed: int) -> tuple[Rewards, torch.Tensor, torch.Tensor]:
    """Two interleaved groups of three outputs, 1-4 real steps each, ascending step ends."""
    gen = torch.Generator().manual_seed(seed)
    b, s, t = 6, 4, 9
    n_steps = torch.randint(1, s + 1, (b,), generator=gen)
    step_mask = (torch.arange(s)[None, :] < n_steps[:, None]).float()
    step_ends = torch.sort(torch.randint(0, t, (b, s), generator=gen), dim=1).values
    rewards = Rewards(torch.randint(0, 2, (b,), generator=gen).float(), torch.rand(b, s, generator=gen),
                      step_ends, step_mask)
    return rewards, torch.tensor([0, 1, 0, 1, 1, 0]), torch.ones(b, t)


def real_steps(rewards: Rewards, row: int) -> list[tuple[float, int]]:
    return [(float(rewards.step_rewards[row, j]), int(rewards.step_ends[row, j]))
            for j in range(rewards.step_mask.shape[1]) if rewards.step_mask[row, j] > 0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_process_prime_matches_a_loop(seed):
    rewards, groups, mask = random_batch(seed)
    opts = AdvantageOptions(std_eps=1e-4, process_weight=0.5)
    adv = get_estimator("process_prime")(rewards, groups, mask, opts)
    for row in range(len(groups)):
        members = [i for i in range(len(groups)) if groups[i] == groups[row]]
        outcome = rewards.outcome[members]
        out_adv = float((rewards.outcome[row] - outcome.mean()) / (outcome.std() + 1e-4))
        pooled = [r for i in members for r, _ in real_steps(rewards, i)]
        mean = sum(pooled) / len(pooled)
        for tok in range(mask.shape[1]):
            want = out_adv + 0.5 * sum(r - mean for r, end in real_steps(rewards, row) if end >= tok)
            assert adv[row, tok].item() == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_process_min_matches_a_loop(seed):
    rewards, groups, mask = random_batch(seed)
    adv = get_estimator("process_min")(rewards, groups, mask, AdvantageOptions(std_eps=1e-4))

    def values(i: int) -> list[tuple[float, int]]:
        steps = real_steps(rewards, i)
        return [(min(r for r, _ in steps[j:]), end) for j, (_, end) in enumerate(steps)]

    for row in range(len(groups)):
        pooled = torch.tensor([v for i in range(len(groups)) if groups[i] == groups[row] for v, _ in values(i)])
        std = float(pooled.std()) if len(pooled) > 1 else 0.0
        for tok in range(mask.shape[1]):
            holding = [v for v, end in values(row) if end >= tok][:1]  # the first step ending at or after tok
            want = (holding[0] - float(pooled.mean())) / (std + 1e-4) if holding else 0.0
            assert adv[row, tok].item() == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("name", ["process_prime", "process_min"])
def test_ablations_without_step_rewards_are_a_clear_error(name):
    with pytest.raises(ValueError, match=f"{name}.*process reward model"):
        get_estimator(name)(Rewards(torch.zeros(2)), GROUP, torch.ones(2, 3), AdvantageOptions())


@pytest.mark.parametrize("name", ["process_prime", "process_min"])
def test_ablations_are_registered_as_beyond_the_paper(name):
    fn = ADVANTAGE_ESTIMATORS[name]
    assert "beyond the paper" in fn.__doc__
    assert name not in FLAT_GROUPS_GIVE_ZERO  # step rewards can differ when outcomes agree
