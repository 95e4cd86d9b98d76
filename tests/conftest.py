"""Shared fixtures: small synthetic problems, a real BPE tokenizer and a tiny real Llama model."""

import pytest

from pipeline.cpu_kernels import pin_cpu_kernels

pin_cpu_kernels()  # before torch runs a kernel: tests compute what the stages compute (pipeline/cpu_kernels.py)

import torch  # noqa: E402

from evaluation.prompts import plain_prompt, with_prompts
from inputs.problems import normalize_all
from evaluation.synthetic_problems import ProblemsConfig, make_splits
from training.config import ModelConfig
from training.model import build_model
from training.tokenizer import train_bpe

TINY_MODEL = ModelConfig(
    pretrained=None, architecture="llama", hidden_size=32, intermediate_size=64, num_layers=2,
    num_heads=2, num_kv_heads=2, max_position_embeddings=256, tie_embeddings=True, dtype="float32",
)


@pytest.fixture(scope="session")
def problems():
    """(train, test) synthetic problems, normalised, with their `plain` prompts."""
    train, test = make_splits(ProblemsConfig(n_train=300, n_test=20, max_ops=2, max_number=9), seed=0)
    return tuple(with_prompts(normalize_all(split, "synthetic"), "plain") for split in (train, test))


@pytest.fixture(scope="session")
def tokenizer(problems):
    train, _ = problems
    return train_bpe([p["prompt"] + p["solution"] for p in train], 400, 2)


@pytest.fixture()
def tiny_model(tokenizer):
    torch.manual_seed(0)
    return build_model(TINY_MODEL, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, seed=0)
