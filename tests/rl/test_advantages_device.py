"""The estimators build every tensor on their inputs' device and use no data-dependent ops.

The `meta` device has shapes but no data: anything that reads values (torch.unique, boolean
indexing, .item()) or makes a CPU tensor next to meta inputs fails there, so running on meta
checks both properties without a GPU.
"""

import pytest
import torch

from rl.advantages import ADVANTAGE_ESTIMATORS, AdvantageOptions, Rewards, group_normalize, normalize, zero_std_groups

B, S, T = 6, 3, 5  # three groups of two outputs

DEVICES = [
    pytest.param(torch.device("meta"), id="meta"),
    pytest.param(torch.device("cuda"), id="cuda",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def batch(device: torch.device) -> tuple[Rewards, torch.Tensor, torch.Tensor]:
    """Rewards with step rewards, groups and mask: meaningful values, moved to `device`."""
    torch.manual_seed(0)
    rewards = Rewards(
        outcome=torch.randint(0, 2, (B,)).float().to(device),
        step_rewards=torch.rand(B, S).to(device),
        step_ends=torch.tensor([[0, 2, 4]] * B).to(device),
        step_mask=torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]] * (B // 2)).to(device),
    )
    groups = torch.tensor([0, 0, 1, 1, 2, 2]).to(device)
    return rewards, groups, torch.ones(B, T).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(ADVANTAGE_ESTIMATORS))
def test_every_estimator_stays_on_the_inputs_device(name, device):
    rewards, groups, mask = batch(device)
    adv = ADVANTAGE_ESTIMATORS[name](rewards, groups, mask, AdvantageOptions())
    assert adv.device.type == device.type
    assert adv.shape == (B, T)
    assert adv.dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES)
def test_helpers_stay_on_the_inputs_device(device):
    rewards, groups, _ = batch(device)
    flat = zero_std_groups(rewards.outcome, groups)
    assert flat.device.type == device.type and flat.shape == (B,) and flat.dtype == torch.bool
    for out in (group_normalize(rewards.outcome, groups, AdvantageOptions()),
                normalize(rewards.outcome, AdvantageOptions())):
        assert out.device.type == device.type and out.shape == (B,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(ADVANTAGE_ESTIMATORS))
def test_cuda_values_match_cpu(name):
    rewards, groups, mask = batch(torch.device("cpu"))
    on_cpu = ADVANTAGE_ESTIMATORS[name](rewards, groups, mask, AdvantageOptions())
    rewards, groups, mask = batch(torch.device("cuda"))
    on_cuda = ADVANTAGE_ESTIMATORS[name](rewards, groups, mask, AdvantageOptions())
    assert torch.allclose(on_cuda.cpu(), on_cpu, atol=1e-5)


@pytest.mark.parametrize("name", ["process", "process_prime", "process_min"])
def test_step_ends_on_another_device_is_caught(name):
    rewards, groups, mask = batch(torch.device("cpu"))
    stray = Rewards(rewards.outcome, rewards.step_rewards, rewards.step_ends.to("meta"), rewards.step_mask)
    with pytest.raises(RuntimeError):
        ADVANTAGE_ESTIMATORS[name](stray, groups, mask, AdvantageOptions())


def test_groups_on_another_device_is_caught():
    rewards, groups, mask = batch(torch.device("cpu"))
    with pytest.raises(RuntimeError):
        ADVANTAGE_ESTIMATORS["outcome"](rewards, groups.to("meta"), mask, AdvantageOptions())
    with pytest.raises(RuntimeError):
        zero_std_groups(rewards.outcome, groups.to("meta"))
