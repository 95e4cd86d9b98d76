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


def test_best_of_n_hand_values():
    from rl.reward_model import best_of_n

    # question 0: three solutions, grades (last label) 0, 1, 0; step scores chosen so that the
    # min picks the correct one and the last step picks a wrong one.
    # question 1: two solutions, both wrong. question 2: one solution only (ignored).
    examples = [RMExample((1, 2, 3), (1, 2), (1.0, 0.0), 0), RMExample((1, 2, 3), (1, 2), (1.0, 1.0), 0),
                RMExample((1, 2, 3), (1, 2), (0.0, 0.0), 0), RMExample((1, 2), (1,), (0.0,), 1),
                RMExample((1, 2), (1,), (0.0,), 1), RMExample((1, 2), (1,), (1.0,), 2)]
    scores = [[0.3, 0.9], [0.6, 0.7], [0.1, 0.95], [0.5], [0.5], [0.9]]
    m = best_of_n(examples, scores)
    # min: q0 -> 0.3, 0.6, 0.1: picks solution 2 (correct); q1 wrong either way -> 1/2
    assert m["best_of_n"] == 0.5
    # last: q0 -> 0.9, 0.7, 0.95: picks solution 3 (wrong) -> 0/2
    assert m["best_of_n_last"] == 0.0
    assert m["random_of_n"] == (1 / 3 + 0) / 2 and m["oracle_of_n"] == 0.5
    assert m["questions"] == 2 and m["n"] == 3
    # within q0 (q1 has no correct solution): correct min 0.6 vs wrong 0.3 and 0.1 -> 2 of 2 pairs
    assert m["auc_within_question"] == 1.0


def test_best_of_n_without_questions_is_nan():
    import math

    from rl.reward_model import best_of_n

    m = best_of_n([RMExample((1, 2), (1,), (1.0,))], [[0.5]])
    assert math.isnan(m["best_of_n"]) and m["questions"] == 0
