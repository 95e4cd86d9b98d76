"""Rollouts and the GRPO loop on a tiny real transformers model."""

import copy

import pytest
import torch

from evaluation.prompts import plain_prompt
from rl.config import GRPOConfig, ModelRewardConfig
from rl.grpo import NonFiniteError, Part, chunked_logprobs, train_grpo, update
from rl.advantages import Rewards
from rl.reward_model import build_reward_model
from rl.scoring import RewardModelScorer, RuleScorer, Scored
from evaluation.generation import completion_mask_from
from rl.rollout import sample_group, token_logprobs
from accelerate import Accelerator
from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.runtime import TrainRuntime
from training.step_log import StepLogger


def grpo_cfg(**kw):
    base = dict(steps=2, questions_per_step=2, group_size=3, max_new_tokens=8, temperature=1.0, top_p=1.0,
                beta=0.04, clip_eps=0.2, mu=1, std_eps=1e-4, skip_zero_std_groups=False,
                scale_by_std=True, loss_aggregation="sequence_mean", micro_batch_size=0, process_weight=1.0, process_advantage="process",
                optim=OptimConfig(1e-3, (0.9, 0.99), 0.0, 0.0, 1.0, 1.0), log_every=1, checkpoint_every=1,
                model_reward=ModelRewardConfig(lr=1e-3, beta=0.04, steps=2, min_agreement=0.0, agreement_window=1))
    base.update(kw)
    return GRPOConfig(**base)


def test_completion_mask_stops_after_first_eos():
    tokens = torch.tensor([[5, 6, 0, 7, 0], [5, 5, 5, 5, 5]])
    assert completion_mask_from(tokens, eos_id=0).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_sample_group_shapes_and_seeded(tiny_model, tokenizer, problems):
    prompts = [plain_prompt(p["question"]) for p in problems[0][:2]]
    a = sample_group(tiny_model, tokenizer, prompts, 3, 6, 1.0, 1.0, seed=1)
    b = sample_group(tiny_model, tokenizer, prompts, 3, 6, 1.0, 1.0, seed=1)
    assert a.input_ids.shape[0] == 6 and a.groups.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.equal(a.input_ids, b.input_ids)
    assert a.completion_mask.shape == (6, a.input_ids.shape[1] - a.prompt_width)
    assert len(a.completions) == 6


def test_token_logprobs_match_a_manual_forward(tiny_model, tokenizer, problems):
    prompts = [plain_prompt(problems[0][0]["question"])]
    batch = sample_group(tiny_model, tokenizer, prompts, 2, 5, 1.0, 1.0, seed=0)
    with torch.no_grad():
        lp = token_logprobs(tiny_model, batch)
        # Row 0 by hand: the prompt has no padding (one prompt), so plain positions apply.
        logits = tiny_model(batch.input_ids[:1]).logits[0]
        w = batch.prompt_width
        manual = torch.log_softmax(logits[w - 1 : -1], -1).gather(-1, batch.input_ids[0, w:, None]).squeeze(-1)
    assert torch.allclose(lp[0], manual, atol=1e-5)


def test_trimmed_micro_batches_give_the_full_batch_logprobs(tiny_model, tokenizer, problems):
    prompts = [plain_prompt(p["question"]) for p in problems[0][:3]]
    batch = sample_group(tiny_model, tokenizer, prompts, 3, 12, 1.0, 1.0, seed=2)
    chunks = batch.micro_batches(4)
    assert [len(rows) for rows, _ in chunks] == [4, 4, 1]
    assert sorted(torch.cat([rows for rows, _ in chunks]).tolist()) == list(range(9))
    for rows, sub in chunks:  # each micro-batch keeps only columns that are real for some row
        assert sub.completion_mask[:, -1].any() and sub.attention_mask[:, 0].any()
    with torch.no_grad():
        full = token_logprobs(tiny_model, batch)
        parts = chunked_logprobs(tiny_model, [Part(rows, sub) for rows, sub in chunks], batch.completion_mask,
                                 TrainRuntime())
    assert torch.allclose(full * batch.completion_mask, parts * batch.completion_mask, atol=1e-5)


@pytest.mark.parametrize("how", ["sequence_mean", "token_mean", "constant_length"])
def test_micro_batched_update_equals_the_full_batch_update(tiny_model, tokenizer, problems, how):
    prompts = [plain_prompt(p["question"]) for p in problems[0][:2]]
    batch = sample_group(tiny_model, tokenizer, prompts, 3, 10, 1.0, 1.0, seed=3)
    adv = torch.linspace(-1, 1, 6)[:, None] * batch.completion_mask
    ref = copy.deepcopy(tiny_model)
    gen = torch.Generator().manual_seed(7)  # the test must not depend on which tests ran before
    with torch.no_grad():  # a reference that differs, so the KL term has a gradient too
        for p in ref.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    grads = {}
    for size in (0, 2):
        model = copy.deepcopy(tiny_model)
        seen = []
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        opt.step = lambda: seen.append([p.grad.clone() for p in model.parameters()])  # noqa: E731
        out = update(model, ref, batch, adv, grpo_cfg(loss_aggregation=how, micro_batch_size=size), opt, Accelerator())
        grads[size] = (seen[0], out["loss"], out["kl"])
    (g0, l0, k0), (g2, l2, k2) = grads[0], grads[2]
    # float32 sums in another order: equal to 1e-4 relative, or 1e-7 absolute for values near 0
    assert l0 == pytest.approx(l2, rel=1e-4, abs=1e-7) and k0 == pytest.approx(k2, rel=1e-4, abs=1e-7)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g2))


def test_train_grpo_runs_changes_policy_and_logs(tiny_model, tokenizer, problems, tmp_path):
    ref = copy.deepcopy(tiny_model)
    before = [p.detach().clone() for p in tiny_model.parameters()]
    logger = StepLogger(tmp_path / "live", 1, 2)
    last = train_grpo(tiny_model, ref, tokenizer, problems[0], grpo_cfg(), "outcome", RuleScorer(), 0, logger,
                      Checkpointer(None, 0, "x"))
    logger.close()
    assert {"reward_mean", "zero_std_frac", "response_len", "lr"} <= set(last)
    assert (tmp_path / "live" / "plots" / "metrics" / "reward_mean.tsv").is_file()
    # An untrained model earns no reward, so every group is flat; the KL term still applies
    # (beta > 0) but the reference equals the policy at step 0, hence the update may be tiny.
    assert all(torch.isfinite(p).all() for p in tiny_model.parameters())
    assert len(before) == len(list(tiny_model.parameters()))


def test_resume_gives_the_same_policy_as_an_uninterrupted_run(tiny_model, tokenizer, problems, tmp_path):
    ref = copy.deepcopy(tiny_model)
    start = copy.deepcopy(tiny_model)
    # Skip no groups and use a KL-only signal so that every step changes the weights.
    cfg = grpo_cfg(steps=3, beta=0.5, checkpoint_every=1)
    full = copy.deepcopy(start)
    train_grpo(full, ref, tokenizer, problems[0], cfg, "outcome", RuleScorer(), 0, StepLogger(None, 1, 3), Checkpointer(None, 0, "x"))
    # Interrupted run: two steps, checkpoint, then a fresh process resumes for the third.
    part = copy.deepcopy(start)
    ck = Checkpointer(tmp_path / "ck", 1, "fp")
    with pytest.raises(Killed):
        train_grpo(part, ref, tokenizer, problems[0], cfg, "outcome", RuleScorer(), 0, StepLogger(None, 1, 3), _StopAfter(ck, 2))
    resumed = copy.deepcopy(start)
    train_grpo(resumed, ref, tokenizer, problems[0], cfg, "outcome", RuleScorer(), 0, StepLogger(None, 1, 3), ck)
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


class Killed(Exception):
    """Stands for the process being killed right after a checkpoint."""


class _StopAfter(Checkpointer):
    """A checkpointer that kills the run (raises) right after saving step `n`."""

    def __init__(self, inner: Checkpointer, n: int) -> None:
        super().__init__(inner.root, inner.every, inner.fingerprint)
        self.n = n

    def save(self, step, model, optimizer, extra=None):
        super().save(step, model, optimizer, extra)
        if step == self.n:
            raise Killed


def test_resume_helper_really_interrupts(tiny_model, tokenizer, problems, tmp_path):
    with pytest.raises(Killed):
        train_grpo(tiny_model, None, tokenizer, problems[0], grpo_cfg(steps=3, beta=0.0), "outcome", RuleScorer(), 0,
                   StepLogger(None, 1, 3), _StopAfter(Checkpointer(tmp_path, 1, "fp"), 1))


def nan_scorer(batch, golds):
    nan = torch.full((len(golds),), float("nan"))
    return Scored(Rewards(nan), torch.zeros(len(golds)))


def test_nan_reward_stops_with_clear_error(tiny_model, tokenizer, problems):
    with pytest.raises(NonFiniteError, match="non-finite reward"):
        train_grpo(tiny_model, None, tokenizer, problems[0], grpo_cfg(beta=0.0), "outcome", nan_scorer, 0,
                   StepLogger(None, 1, 2), Checkpointer(None, 0, "x"))


def test_process_supervision_with_a_prm_and_online_rft_run(tiny_model, tokenizer, problems, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    prm = build_reward_model(str(tmp_path))
    scorer = RewardModelScorer(prm, tokenizer, process=True)
    last = train_grpo(tiny_model, None, tokenizer, problems[0], grpo_cfg(beta=0.0), "process", scorer, 0,
                      StepLogger(None, 1, 2), Checkpointer(None, 0, "x"))
    assert 0.0 <= last["rm_rule_agreement"] <= 1.0 and "loss" in last
    last = train_grpo(tiny_model, None, tokenizer, problems[0], grpo_cfg(beta=0.0, skip_zero_std_groups=True), "rft",
                      RuleScorer(), 0, StepLogger(None, 1, 2), Checkpointer(None, 0, "x"))
    assert "accuracy" in last


def test_prm_scorer_puts_rewards_at_step_ends(tiny_model, tokenizer, problems, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    scorer = RewardModelScorer(build_reward_model(str(tmp_path)), tokenizer, process=True)
    prompts = [plain_prompt(p["question"]) for p in problems[0][:2]]
    batch = sample_group(tiny_model, tokenizer, prompts, 2, 12, 1.0, 1.0, seed=0)
    scored = scorer(batch, ["1"] * 4)
    r = scored.rewards
    assert r.step_rewards.shape == r.step_ends.shape == r.step_mask.shape
    lengths = batch.completion_mask.sum(-1).long()
    last_real = (r.step_ends * r.step_mask.long()).max(-1).values
    assert torch.equal(last_real, lengths - 1)  # the last step ends at each completion's last token
    assert torch.allclose(r.outcome, r.step_rewards.gather(1, (r.step_mask.sum(-1).long() - 1)[:, None]).squeeze(1))


def test_grpo_in_bf16_at_the_paper_lr_moves_the_float32_master_weights(tiny_model, tokenizer, problems):
    """One GRPO step at lr 1e-6 with bf16 compute: at least 99% of the weights move, as in float32
    (bf16 weights updated in place kept about 2% of such updates: tests/training/test_precision.py)."""
    cfg = grpo_cfg(steps=1, beta=0.04, optim=OptimConfig(1e-6, (0.9, 0.99), 0.0, 0.0, 1.0, 1.0))
    moved = {}
    for dtype in ("float32", "bfloat16"):
        policy, ref = copy.deepcopy(tiny_model), copy.deepcopy(tiny_model).to(torch.bfloat16)
        start = [p.detach().clone() for p in policy.parameters()]
        # The `sft` coefficient gives every sampled token a gradient, whatever the rewards.
        train_grpo(policy, ref, tokenizer, problems[0], cfg, "sft", RuleScorer(), 0, StepLogger(None, 1, 1),
                   Checkpointer(None, 0, "x"), TrainRuntime(dtype))
        assert all(p.dtype == torch.float32 for p in policy.parameters())
        changed = sum(int((a != b.detach()).sum()) for a, b in zip(start, policy.parameters()))
        moved[dtype] = changed / sum(a.numel() for a in start)
    assert moved["float32"] >= 0.99 and moved["bfloat16"] >= 0.99, moved


def test_rewards_follow_the_rollouts_device():
    """Scorers return CPU tensors; the loop moves them to the rollouts' device before indexing
    with group masks (on a GPU, CPU rewards indexed by CUDA masks raise)."""
    from rl.advantages import Rewards
    from rl.grpo import rewards_to

    r = Rewards(torch.ones(4), torch.ones(4, 2), torch.zeros(4, 2, dtype=torch.long), torch.ones(4, 2))
    moved = rewards_to(r, torch.device("meta"))
    assert all(t.device.type == "meta" for t in (moved.outcome, moved.step_rewards, moved.step_ends, moved.step_mask))
    assert rewards_to(Rewards(torch.ones(2)), torch.device("meta")).step_rewards is None


def test_skipping_flat_groups_keeps_each_output_weight_at_one_over_b(tiny_model, tokenizer, problems):
    """With beta = 0 a flat group contributes nothing, so skipping it must not change the gradient:
    the kept rows keep their 1/B weight (not 1/B_kept)."""
    from rl.advantages import AdvantageOptions, get_estimator
    from rl.loss import token_weights

    prompts = [plain_prompt(p["question"]) for p in problems[0][:2]]
    batch = sample_group(tiny_model, tokenizer, prompts, 3, 6, 1.0, 1.0, seed=2)
    outcome = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # group 1 is flat
    adv = get_estimator("outcome")(Rewards(outcome), batch.groups, batch.completion_mask, AdvantageOptions())
    cfg = grpo_cfg(beta=0.0, optim=OptimConfig(1.0, (0.9, 0.99), 0.0, 0.0, 1.0, 1e9))  # no clipping
    acc = Accelerator()

    def grads(b, a, w):
        """The gradient, read off one plain SGD step of lr 1 (the update zeroes .grad after it)."""
        model = copy.deepcopy(tiny_model)
        update(model, None, b, a, cfg, torch.optim.SGD(model.parameters(), lr=1.0), acc, weights=w)
        return [p0.detach() - p1.detach() for p0, p1 in zip(tiny_model.parameters(), model.parameters())]

    full = grads(batch, adv, None)
    keep = torch.tensor([True, True, True, False, False, False])
    w = token_weights(batch.completion_mask, cfg.loss_aggregation)[keep]
    skipped = grads(batch.select(keep), adv[keep], w)
    assert any(g.abs().max() > 1e-5 for g in full)
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(full, skipped))
    wrong = grads(batch.select(keep), adv[keep], None)  # 1/B_kept doubles the step
    assert all(torch.allclose(2 * a, b, atol=1e-6) for a, b in zip(full, wrong))


def test_the_guard_stops_a_drifting_prm_run_and_keeps_the_start(tiny_model, tokenizer, problems, tmp_path):
    from rl.guard import AgreementGuard

    tiny_model.save_pretrained(tmp_path)
    scorer = RewardModelScorer(build_reward_model(str(tmp_path)), tokenizer, process=True)
    start = [p.detach().clone() for p in tiny_model.parameters()]
    guard = AgreementGuard(threshold=1.01, window=1)  # no agreement can reach it: stops at step 1
    last = train_grpo(tiny_model, None, tokenizer, problems[0], grpo_cfg(beta=0.0, steps=3), "process", scorer, 0,
                      StepLogger(None, 1, 3), Checkpointer(None, 0, "x"), guard=guard)
    assert last["stopped_early"] and last["stop_step"] == 1 and last["kept_step"] == 0
    assert all(torch.equal(a, b) for a, b in zip(start, tiny_model.parameters()))
