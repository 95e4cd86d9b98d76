"""Reward models on a tiny real transformers backbone: BCE training at chosen positions, AUC."""

import pytest
import torch

from rl.reward_model import RMExample, accuracy, auc, build_reward_model, collate_rm, RMLoss, score
from training.checkpoint import Checkpointer
from training.config import OptimConfig
from training.loop import train
from training.step_log import StepLogger


def test_auc_and_accuracy_hand_values():
    # positives 0.9, 0.4; negatives 0.4, 0.1 -> pairs: (0.9>0.4) 1, (0.9>0.1) 1, (0.4=0.4) 0.5, (0.4>0.1) 1
    assert auc([0.9, 0.4, 0.4, 0.1], [1, 1, 0, 0]) == pytest.approx(3.5 / 4)
    assert accuracy([0.9, 0.4, 0.6], [1.0, 0.0, 0.0]) == pytest.approx(2 / 3)


def test_collate_indexes_scored_positions():
    batch = collate_rm([RMExample((5, 6, 7), (1, 2), (1.0, 0.0)), RMExample((8,), (0,), (0.5,))], pad_id=0)
    assert batch["rows"].tolist() == [0, 0, 1] and batch["cols"].tolist() == [1, 2, 0]
    assert batch["labels"].tolist() == [1.0, 0.0, 0.5]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_reward_model_learns_to_separate(tiny_model, tokenizer, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    rm = build_reward_model(str(tmp_path))
    good = tokenizer("#### 8", add_special_tokens=False)["input_ids"]
    bad = tokenizer("#### 9", add_special_tokens=False)["input_ids"]
    examples = [RMExample(tuple(good), (len(good) - 1,), (1.0,)), RMExample(tuple(bad), (len(bad) - 1,), (0.0,))] * 4
    opt = OptimConfig(3e-3, (0.9, 0.95), 0.0, 0.0, 1.0, 1.0)
    train(rm, RMLoss(examples, 4, tokenizer.pad_token_id, 0), 40, opt, StepLogger(None, 10, 40),
          Checkpointer(None, 0, ""), "rm")
    s = score(rm, examples[:2], tokenizer.pad_token_id)
    assert s[0][0] > 0.8 and s[1][0] < 0.2
    assert torch.isfinite(torch.tensor(s)).all()
