"""Model factory: a tiny causal LM from a `transformers` config, or a pretrained checkpoint.

The two sizes differ only in data (`ModelConfig.pretrained`), never in code paths downstream:
both return a `PreTrainedModel` that every later stage loads with `from_pretrained`.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedModel, Qwen2Config

from training.config import ModelConfig

ARCHITECTURES = {"llama": LlamaConfig, "qwen2": Qwen2Config}


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def build_model(cfg: ModelConfig, vocab_size: int, eos_id: int, pad_id: int, seed: int) -> PreTrainedModel:
    """Fresh tiny model (seeded init) or the pretrained checkpoint named in the config."""
    if cfg.pretrained is not None:
        return AutoModelForCausalLM.from_pretrained(cfg.pretrained, dtype=torch_dtype(cfg.dtype))
    config = ARCHITECTURES[cfg.architecture](
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=cfg.tie_embeddings,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype(cfg.dtype))
    return model


def load_model(path: str, dtype: str = "float32") -> PreTrainedModel:
    """Load a model a previous stage saved with `save_pretrained`."""
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype))


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
