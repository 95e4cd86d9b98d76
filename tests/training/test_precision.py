"""Mixed precision keeps float32 master weights: a bf16 run at the paper's lr 1e-6 still moves
almost every weight, where bf16 weights updated in place lose most updates."""

import copy

import torch
from accelerate import Accelerator

from pipeline.train_common import save_model
from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.loop import train
from training.model import load_model
from training.runtime import TrainRuntime, autocast
from training.sft import SFTLoss, encode_examples
from training.step_log import StepLogger

LR_PAPER = OptimConfig(1e-6, (0.9, 0.99), 0.0, 0.0, 1.0, 1.0)  # §4.2: constant lr 1e-6


def changed_fraction(before: torch.nn.Module, after: torch.nn.Module) -> float:
    changed = total = 0
    for a, b in zip(before.parameters(), after.parameters()):
        changed += int((a.detach().float() != b.detach().float()).sum())
        total += a.numel()
    return changed / total


def one_step(model, problems, tokenizer, runtime):
    examples, _ = encode_examples(problems[0], tokenizer, 128, fmt="plain")
    train(model, SFTLoss(examples, 8, tokenizer.pad_token_id, 0), 1, LR_PAPER, StepLogger(None, 1, 1),
          Checkpointer(None, 0, ""), "sft", runtime)


def test_bf16_mixed_precision_updates_as_many_weights_as_fp32(tiny_model, problems, tokenizer):
    start = copy.deepcopy(tiny_model)
    fp32, mixed = copy.deepcopy(start), copy.deepcopy(start).to(torch.bfloat16)  # a bf16 checkpoint
    one_step(fp32, problems, tokenizer, TrainRuntime("float32"))
    one_step(mixed, problems, tokenizer, TrainRuntime("bfloat16"))
    assert all(p.dtype == torch.float32 for p in mixed.parameters())  # master weights
    assert changed_fraction(start, fp32) >= 0.99
    # Against the bf16 start: every weight that AdamW moved by ~1e-6 moved in float32 storage.
    assert changed_fraction(start.to(torch.bfloat16), mixed) >= 0.99


def test_bf16_weights_updated_in_place_lose_most_updates(tiny_model, problems, tokenizer):
    """The failure mode the master weights exist for (the old gpu profile): the same step on
    bf16 parameters rounds most updates away."""
    examples, _ = encode_examples(problems[0], tokenizer, 128, fmt="plain")
    objective = SFTLoss(examples, 8, tokenizer.pad_token_id, 0)
    model = copy.deepcopy(tiny_model).to(torch.bfloat16)
    start = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.99), weight_decay=0.0)
    objective.loss(model, objective.draw(0), None).backward()
    opt.step()
    assert changed_fraction(start, model) < 0.1  # measured: 1.9% of the weights


def test_autocast_computes_in_bf16_and_is_a_no_op_in_fp32(tiny_model, tokenizer):
    ids = torch.tensor([tokenizer("1 + 2 = 3", add_special_tokens=False)["input_ids"]])
    with autocast(torch.device("cpu"), "bfloat16"):
        assert tiny_model(input_ids=ids).logits.dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "float32"):
        assert tiny_model(input_ids=ids).logits.dtype == torch.float32


def test_model_saved_in_the_profile_dtype(tiny_model, tokenizer, tmp_path):
    save_model(tiny_model, tokenizer, str(tmp_path / "m"), dtype="bfloat16")
    loaded = load_model(str(tmp_path / "m"), "float32")
    for a, b in zip(tiny_model.parameters(), loaded.parameters()):
        assert torch.equal(a.detach().to(torch.bfloat16).float(), b.detach())
    saved = load_model(str(tmp_path / "m"), "bfloat16")
    assert next(saved.parameters()).dtype == torch.bfloat16


def test_float16_training_is_refused_with_the_key():
    import pytest

    with pytest.raises(ValueError, match="model.dtype"):
        TrainRuntime("float16")


def test_accelerator_keeps_no_mixed_precision_of_its_own():
    """The trainers autocast themselves; accelerate must not add a second policy."""
    assert Accelerator().mixed_precision == "no"
