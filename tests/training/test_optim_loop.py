"""Learning-rate schedule (hand values), data packing, SFT masking and resumable training."""

import copy
import math

import pytest
import torch

from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.loop import NonFiniteLoss, train
from training.optim import lr_factor
from training.pretrain import PretrainLoss, pack_corpus
from training.sft import IGNORE, Example, SFTLoss, collate, encode_examples
from training.step_log import StepLogger

OPT = OptimConfig(lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1, warmup_frac=0.1, min_lr_ratio=0.1, grad_clip=1.0)


def test_lr_schedule_hand_values():
    # 100 steps, 10 warm-up: step 0 -> 1/10, step 9 -> 1, then cosine from 1 to 0.1.
    assert lr_factor(0, 100, OPT) == pytest.approx(0.1)
    assert lr_factor(9, 100, OPT) == pytest.approx(1.0)
    assert lr_factor(10, 100, OPT) == pytest.approx(1.0)
    mid = 10 + 45  # half-way through the decay: cosine term 0.5
    assert lr_factor(mid, 100, OPT) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(100, 100, OPT) == pytest.approx(0.1)
    constant = OptimConfig(1e-3, (0.9, 0.99), 0.0, 0.0, 1.0, 1.0)
    assert {lr_factor(s, 50, constant) for s in range(50)} == {1.0}


def test_pack_corpus_chunks_with_eos_between_documents(tokenizer):
    chunks = pack_corpus(["a b c", "d e"], tokenizer, seq_len=2)
    flat = chunks.flatten().tolist()
    assert chunks.shape[1] == 2
    assert tokenizer.eos_token_id in flat
    with pytest.raises(ValueError, match="corpus too small"):
        pack_corpus(["a"], tokenizer, seq_len=1000)


def test_collate_masks_prompt_and_padding():
    batch = collate([Example((5, 6, 7, 8), 2), Example((5, 9, 1), 1)], pad_id=0)
    assert batch["labels"].tolist() == [[IGNORE, IGNORE, 7, 8], [IGNORE, 9, 1, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]


def test_encode_examples_counts_too_long(problems, tokenizer):
    examples, counts = encode_examples(problems[0][:20], tokenizer, max_len=60, fmt="plain")
    assert len(examples) + counts["too_long"] == 20 and counts["examples_synthetic"] == len(examples)
    assert all(e.ids[-1] == tokenizer.eos_token_id for e in examples)
    with pytest.raises(ValueError, match="sft.max_len=8"):
        encode_examples(problems[0][:5], tokenizer, max_len=8, fmt="plain")


def test_encode_examples_prompt_then_target_and_empty_solutions(problems, tokenizer):
    p = problems[0][0]
    (example,), counts = encode_examples([p, {**p, "solution": " "}], tokenizer, max_len=256, fmt="plain")
    prompt = tokenizer(p["prompt"], add_special_tokens=False)["input_ids"]
    target = tokenizer(p["solution"], add_special_tokens=False)["input_ids"]
    assert example.ids == tuple(prompt + target + [tokenizer.eos_token_id]) and example.n_prompt == len(prompt)
    assert counts["missing_solution"] == 1


def test_sft_lowers_the_loss(problems, tokenizer, tiny_model):
    examples, _ = encode_examples(problems[0], tokenizer, 128, fmt="plain")
    loss_fn = SFTLoss(examples, 8, tokenizer.pad_token_id, seed=0)
    with torch.no_grad():
        before = loss_fn.loss(tiny_model, loss_fn.draw(0), None).item()
    train(tiny_model, loss_fn, 30, OPT, StepLogger(None, 10, 30), Checkpointer(None, 0, ""), "sft")
    with torch.no_grad():
        after = loss_fn.loss(tiny_model, loss_fn.draw(0), None).item()
    assert after < before - 0.5


class Killed(Exception):
    pass


class StopAt(Checkpointer):
    def save(self, step, model, optimizer, extra=None):
        super().save(step, model, optimizer, extra)
        if step == 4:
            raise Killed


def test_resume_matches_uninterrupted_run(problems, tokenizer, tiny_model, tmp_path):
    chunks = pack_corpus([p["question"] for p in problems[0]], tokenizer, 16)
    start = copy.deepcopy(tiny_model)
    full = copy.deepcopy(start)
    train(full, PretrainLoss(chunks, 4, 0), 6, OPT, StepLogger(None, 1, 6), Checkpointer(None, 0, ""), "p")
    part = copy.deepcopy(start)
    with pytest.raises(Killed):
        train(part, PretrainLoss(chunks, 4, 0), 6, OPT, StepLogger(None, 1, 6), StopAt(tmp_path, 2, "fp"), "p")
    resumed = copy.deepcopy(start)
    train(resumed, PretrainLoss(chunks, 4, 0), 6, OPT, StepLogger(None, 1, 6), Checkpointer(tmp_path, 2, "fp"), "p")
    assert all(torch.equal(a, b) for a, b in zip(full.parameters(), resumed.parameters()))


def test_checkpoint_with_other_settings_is_ignored(tiny_model, tmp_path):
    opt = torch.optim.AdamW(tiny_model.parameters())
    Checkpointer(tmp_path, 1, "old").save(5, tiny_model, opt)
    assert Checkpointer(tmp_path, 1, "new").load(tiny_model, opt) == (0, {})
    assert Checkpointer(tmp_path, 1, "old").load(tiny_model, opt)[0] == 5


def test_nan_loss_stops_with_clear_error(tiny_model):
    with pytest.raises(NonFiniteLoss, match="loss is nan"):
        train(tiny_model, NaNLoss(), 3, OPT, StepLogger(None, 1, 3), Checkpointer(None, 0, ""), "p")


class NaNLoss:
    """A BatchLoss whose loss is NaN (a diverged run)."""

    batch_size = 2

    def draw(self, step):
        return [0, 1]

    def count(self, items):
        return float(len(items))

    def loss(self, model, items, total):
        return torch.tensor(math.nan, requires_grad=True)
