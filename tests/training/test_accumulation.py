"""Gradient accumulation: k micro-batches normalised by the whole batch's count give the
gradients of one pass over the whole batch (pretrain, SFT, reward model)."""

import copy

import pytest
import torch
from accelerate import Accelerator

from rl.reward_model import RMExample, RMLoss, build_reward_model
from training.loop import accumulate, micro_batches
from training.pretrain import PretrainLoss, pack_corpus
from training.runtime import TrainRuntime
from training.sft import SFTLoss, encode_examples

# float32 sums in another order: differences are rounding, about 1e-7 relative per addition.
RTOL, ATOL = 1e-5, 1e-7


def grads(model, objective, micro):
    model = copy.deepcopy(model)
    model.zero_grad()
    loss = accumulate(Accelerator(), model, objective, objective.draw(3), TrainRuntime(micro_batch_size=micro), "t", 3)
    return loss, [p.grad.clone() for p in model.parameters() if p.grad is not None]


def assert_same(model, objective, micro):
    loss_one, g_one = grads(model, objective, 0)
    loss_k, g_k = grads(model, objective, micro)
    assert loss_k == pytest.approx(loss_one, rel=RTOL)
    assert len(g_one) == len(g_k)
    for a, b in zip(g_one, g_k):
        torch.testing.assert_close(b, a, rtol=RTOL, atol=ATOL)


def test_micro_batches_cut_in_order():
    assert micro_batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert micro_batches([1, 2, 3], 0) == [[1, 2, 3]]


@pytest.mark.parametrize("micro", [1, 3])
def test_sft_accumulation_equals_one_batch(tiny_model, problems, tokenizer, micro):
    examples, _ = encode_examples(problems[0], tokenizer, 128, fmt="plain")
    # Examples of different lengths: a plain mean of micro-batch means would be wrong here.
    assert len({len(e.ids) for e in examples[:50]}) > 1
    assert_same(tiny_model, SFTLoss(examples, 8, tokenizer.pad_token_id, 0), micro)


def test_pretrain_accumulation_equals_one_batch(tiny_model, problems, tokenizer):
    chunks = pack_corpus([p["question"] for p in problems[0]], tokenizer, 16)
    assert_same(tiny_model, PretrainLoss(chunks, 6, 0), 2)


def test_reward_model_accumulation_equals_one_batch(tiny_model, tokenizer, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    rm = build_reward_model(str(tmp_path))
    a = tokenizer("1 + 2 = 3\n#### 3", add_special_tokens=False)["input_ids"]
    b = tokenizer("4 + 4 = 9\n#### 9", add_special_tokens=False)["input_ids"]
    # Different numbers of scored positions per example.
    examples = [RMExample(tuple(a), (2, len(a) - 1), (1.0, 1.0)), RMExample(tuple(b), (len(b) - 1,), (0.0,))] * 3
    assert_same(rm, RMLoss(examples, 6, tokenizer.pad_token_id, 0), 4)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_model, problems, tokenizer):
    """Recomputing activations in backward changes memory, not the gradient."""
    from training.runtime import for_training

    examples, _ = encode_examples(problems[0], tokenizer, 128, fmt="plain")
    objective = SFTLoss(examples, 8, tokenizer.pad_token_id, 0)
    _, plain = grads(tiny_model, objective, 0)
    checkpointed = for_training(copy.deepcopy(tiny_model), TrainRuntime(gradient_checkpointing=True)).train()
    assert checkpointed.is_gradient_checkpointing
    _, recomputed = grads(checkpointed, objective, 0)
    for a, b in zip(plain, recomputed):
        torch.testing.assert_close(b, a, rtol=RTOL, atol=ATOL)
