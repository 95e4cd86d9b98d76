"""`make_engine`: the engine named by `runtime.engine`, built from what that engine needs."""

from __future__ import annotations

from typing import Any

from generation.engine import Engine

ENGINES = ("hf", "lean", "vllm")


def make_engine(kind: str, *, model: Any = None, tokenizer: Any = None, batch_size: int = 64,
                static_cache: bool = False, synced_gpus: bool | None = None, model_dir: str | None = None,
                seed: int = 0, dtype: str = "auto", gpu_memory_utilization: float = 0.9,
                enable_sleep: bool = False, max_model_len: int | None = None) -> Engine:
    """"hf": samples from the live `model` with `tokenizer` (chunks of batch_size // n prompts).
    "lean": the same, by a direct decode loop (`LeanEngine`: faster for small models, reports
    log-probs; static_cache and synced_gpus do not apply to it).
    "vllm": loads `model_dir` (saved with `save_pretrained`) into a colocated vLLM engine."""
    if kind == "hf":
        if model is None or tokenizer is None:
            raise ValueError("runtime.engine: 'hf' samples from a loaded model: pass model and tokenizer")
        from generation.hf_engine import HFEngine

        return HFEngine(model, tokenizer, batch_size, static_cache=static_cache, synced_gpus=synced_gpus)
    if kind == "lean":
        if model is None or tokenizer is None:
            raise ValueError("runtime.engine: 'lean' samples from a loaded model: pass model and tokenizer")
        from generation.lean_engine import LeanEngine

        return LeanEngine(model, tokenizer, batch_size)
    if kind == "vllm":
        if model_dir is None:
            raise ValueError("runtime.engine: 'vllm' loads a saved model: pass model_dir")
        from generation.vllm_engine import VLLMEngine

        return VLLMEngine(model_dir, seed=seed, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                          enable_sleep=enable_sleep, max_model_len=max_model_len)
    raise ValueError(f"runtime.engine: unknown engine {kind!r}; choices: {list(ENGINES)}")
