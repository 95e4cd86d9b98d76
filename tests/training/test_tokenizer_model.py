"""Tokenizer (real `tokenizers` BPE) and model factory (real `transformers` configs)."""

import pytest
import torch
from transformers import AutoTokenizer

from tests.conftest import TINY_MODEL
from training.model import build_model, count_parameters, load_model
from training.tokenizer import encode_texts, train_bpe


def test_digits_are_split_one_by_one(tokenizer):
    pieces = tokenizer.tokenize("Tom has 1234 apples.")
    digit_pieces = [p for p in pieces if any(ch.isdigit() for ch in p)]
    assert [p.lstrip("Ġ") for p in digit_pieces] == ["1", "2", "3", "4"]


def test_round_trip_and_offline_reload(tokenizer, tmp_path):
    text = "Question: Anna has 15 eggs.\nAnswer:\nAnna starts with 15 eggs.\n#### 15"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(text, add_special_tokens=False)["input_ids"] == ids
    assert again.eos_token == "<|endoftext|>" and again.pad_token == "<|pad|>"


def test_encode_texts_equals_one_call_per_text(tokenizer, problems):
    texts = [p["question"] for p in problems[0][:50]] + ["", "<|endoftext|> and <|pad|> as text", "ünïcode 3.5"]
    one_by_one = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert encode_texts(tokenizer, texts) == one_by_one
    assert encode_texts(tokenizer, []) == []


def test_encode_texts_keeps_the_wrappers_semantics_when_the_backend_truncates(tokenizer, problems, tmp_path):
    """A tokenizer whose backend has truncation configured goes through the wrapper, which
    does not truncate when not asked to: a direct backend call would cut these texts."""
    tokenizer.save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    tok.backend_tokenizer.enable_truncation(max_length=3)
    texts = [p["question"] for p in problems[0][:5]]
    full = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert all(len(ids) > 3 for ids in full)
    assert encode_texts(tok, texts) == full


def test_empty_corpus_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        train_bpe([], 400, 2)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_build_model_is_seeded_and_saves(arch, tokenizer, tmp_path):
    from dataclasses import replace

    cfg = replace(TINY_MODEL, architecture=arch)
    a = build_model(cfg, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, seed=3)
    b = build_model(cfg, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.config.model_type == arch and count_parameters(a) > 0
    a.save_pretrained(tmp_path)
    c = load_model(str(tmp_path))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))
