"""Each group's prompt run once (rl/shared_prompt.py): the same log-probs, gradients and GRPO
update as one row per output, on a tiny real transformers model."""

import copy

import pytest
import torch
from accelerate import Accelerator

from evaluation.prompts import plain_prompt
from rl.grpo import update
from rl.rollout import sample_group, token_logprobs
from rl.shared_prompt import group_starts, shared_prompt_logprobs
from training.runtime import TrainRuntime
from tests.rl.test_rollout_and_grpo import grpo_cfg


@pytest.fixture()
def batch(tiny_model, tokenizer, problems):
    # Prompts of different lengths (left padding) and outputs of different lengths (EOS).
    questions = sorted(problems[0][:40], key=lambda p: len(p["question"]))
    prompts = [plain_prompt(questions[i]["question"]) for i in (0, 20, 39)]
    out = sample_group(tiny_model, tokenizer, prompts, 4, 12, 1.0, 1.0, seed=5)
    assert out.attention_mask[:, 0].sum() < len(out.groups)  # some prompt is left-padded
    return out


def test_logprobs_equal_one_row_per_output(tiny_model, batch):
    with torch.no_grad():
        plain = token_logprobs(tiny_model, batch)
        shared = shared_prompt_logprobs(tiny_model, batch)
    mask = batch.completion_mask.bool()
    assert shared.shape == plain.shape
    assert torch.allclose(shared[mask], plain[mask], atol=1e-5)


def test_eager_attention_gives_the_same_logprobs(tiny_model, batch):
    with torch.no_grad():
        plain = token_logprobs(tiny_model, batch)
        tiny_model.config._attn_implementation = "eager"
        shared = shared_prompt_logprobs(tiny_model, batch)
    mask = batch.completion_mask.bool()
    assert torch.allclose(shared[mask], plain[mask], atol=1e-5)


def test_gradients_reach_the_prompt_as_in_one_row_per_output(tiny_model, batch):
    weights = torch.linspace(-1, 1, batch.completion_mask.numel()).view_as(batch.completion_mask) * batch.completion_mask
    grads = []
    for fn in (token_logprobs, shared_prompt_logprobs):
        model = copy.deepcopy(tiny_model)
        (fn(model, batch) * weights).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))


def test_group_micro_batches_hold_whole_contiguous_groups(batch):
    parts = batch.micro_batches(8, by_group=True)
    assert [len(rows) for rows, _ in parts] == [8, 4]  # 8 // 4 rows per group = 2 groups, then 1
    assert sorted(torch.cat([rows for rows, _ in parts]).tolist()) == list(range(12))
    for rows, sub in parts:
        assert group_starts(sub) is not None
        for g in sub.groups.unique():  # a group's rows keep their batch order
            mine = rows[sub.groups == g]
            assert mine.tolist() == sorted(mine.tolist()) and len(mine) == 4
        assert torch.equal(sub.completion_mask, batch.completion_mask[rows, : sub.completion_mask.shape[1]])


def test_rows_not_grouped_are_refused(tiny_model, batch):
    mixed = batch.trimmed(torch.tensor([0, 4, 1]))  # group 0, group 1, group 0 again
    assert group_starts(mixed) is None
    with pytest.raises(ValueError, match="contiguous runs"):
        shared_prompt_logprobs(tiny_model, mixed)


def test_grpo_update_is_the_same_with_the_shared_prompt(tiny_model, batch):
    adv = torch.linspace(-1, 1, len(batch.groups))[:, None] * batch.completion_mask
    ref = copy.deepcopy(tiny_model)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():  # a reference that differs, so the KL term has a gradient too
        for p in ref.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    results = []
    for shared in (False, True):
        model = copy.deepcopy(tiny_model)
        seen = []
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        opt.step = lambda: seen.append([p.grad.clone() for p in model.parameters()])  # noqa: E731
        out = update(model, ref, batch, adv, grpo_cfg(micro_batch_size=8, questions_per_step=3, group_size=4), opt,
                     Accelerator(), TrainRuntime(micro_batch_size=8, shared_prompt=shared))
        results.append((seen[0], out["loss"], out["kl"]))
    (g0, l0, k0), (g1, l1, k1) = results
    assert l0 == pytest.approx(l1, rel=1e-4, abs=1e-7) and k0 == pytest.approx(k1, rel=1e-4, abs=1e-7)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g1))


def test_shared_prompt_needs_the_cache_that_checkpointing_turns_off():
    from training.config import RuntimeConfig

    with pytest.raises(ValueError, match="shared_prompt"):
        RuntimeConfig("python", True, "lean", 0.3, True, True)


@pytest.mark.parametrize("process", [False, True])
def test_reward_model_scores_equal_one_row_per_output(tiny_model, tokenizer, batch, tmp_path, process):
    from rl.reward_model import build_reward_model
    from rl.scoring import RewardModelScorer

    tiny_model.save_pretrained(tmp_path)
    rm = build_reward_model(str(tmp_path))
    golds = ["1"] * len(batch.groups)
    plain = RewardModelScorer(rm, tokenizer, process=process)(batch, golds)
    shared = RewardModelScorer(rm, tokenizer, process=process, shared_prompt=True)(batch, golds)
    assert torch.allclose(plain.rewards.outcome, shared.rewards.outcome, atol=1e-5)
    if process:
        assert torch.equal(plain.rewards.step_ends, shared.rewards.step_ends)
        assert torch.allclose(plain.rewards.step_rewards, shared.rewards.step_rewards, atol=1e-5)
