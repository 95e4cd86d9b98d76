"""Generation backends: n completions per prompt from a causal LM, as text.

Text front ends of the sampling engines (`generation/`): `HFBackend` runs an `HFEngine` on a
loaded `transformers` model (CPU or GPU); `LeanBackend` the same over a `LeanEngine` (a direct
decode loop, faster for small models: same greedy outputs, other sampled ones); `VLLMBackend` a
`VLLMEngine` (vLLM, an optional GPU extra imported lazily). All return, per prompt, n decoded
completions (new tokens only, special tokens removed); temperature 0 means greedy decoding.

HFBackend and LeanBackend cut a prompt longer than the model's context minus the token budget to
its last tokens and count it (`truncated_prompts`): few-shot prompts exceed the tiny model's 256
positions.

Determinism: HFBackend and LeanBackend reseed torch before every batch with `seed + batch_index`,
so a run depends only on (model, prompts, arguments), not on what ran before. Batches hold
`batch_size // n` prompts, so changing batch_size changes sampled (not greedy) outputs.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from generation.engine import SamplingSpec
from generation.hf_engine import HFEngine
from generation.lean_engine import LeanEngine

_TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class Backend(Protocol):
    """What `evaluate` needs from a generator."""

    last_tokens_per_s: float

    def generate(
        self,
        prompts: list[str],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[list[str]]: ...


def completion_mask_from(tokens: torch.Tensor, eos_id: int) -> torch.Tensor:
    """(B, T) 1.0 up to and including the first EOS of each row, 0.0 after it (padding)."""
    is_eos = (tokens == eos_id).long()
    return ((is_eos.cumsum(-1) - is_eos) == 0).float()


class HFBackend:
    """Text in, text out over an `HFEngine`: prompts are tokenised without special tokens (as
    SFT and RL do, training/sft.py) and cut to the context, then sampled in seeded batches."""

    engine_class: Any = HFEngine  # built as engine_class(model, tokenizer, batch_size, progress=...)

    def __init__(self, model: Any, tokenizer: Any, batch_size: int, progress: bool = True) -> None:
        self.engine = self.engine_class(model.eval(), tokenizer, batch_size, progress=progress)
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.last_tokens_per_s: float = 0.0
        # Prompts longer than the context minus the generation budget keep their last tokens.
        self.max_positions: int | None = getattr(model.config, "max_position_embeddings", None)
        self.truncated_prompts = 0

    @property
    def progress(self) -> bool:
        return self.engine.progress

    @progress.setter
    def progress(self, value: bool) -> None:
        self.engine.progress = value

    def _fit_context(self, prompts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        """Cut prompts to the context left after `max_new_tokens`, keeping their last tokens
        (counted in `truncated_prompts`)."""
        if self.max_positions is None:
            return prompts
        keep = max(1, self.max_positions - max_new_tokens)
        self.truncated_prompts += sum(len(p) > keep for p in prompts)
        return [p[-keep:] for p in prompts]

    def generate(
        self,
        prompts: list[str],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[list[str]]:
        """Return n completions for each prompt (greedy when temperature == 0)."""
        spec = SamplingSpec(n, temperature, top_p, max_new_tokens, seed)
        if not prompts:
            return []
        ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        samples = self.engine.sample(self._fit_context(ids, max_new_tokens), spec)
        self.last_tokens_per_s = self.engine.last_tokens_per_s
        return [[s.text for s in row] for row in samples]


class LeanBackend(HFBackend):
    """`HFBackend` over a `LeanEngine`: the same tokenisation, context fitting, seeded batches
    and greedy outputs; sampled outputs come from another random stream than `generate`'s."""

    engine_class = LeanEngine


class VLLMBackend:
    """Text in, text out over a `VLLMEngine` (GPU only). Prompts are tokenised without special
    tokens, as for HFBackend, so both backends see the same ids."""

    def __init__(
        self, model_path: str, *, seed: int = 0, dtype: str = "auto", gpu_memory_utilization: float = 0.9,
        **llm_kwargs: Any,
    ) -> None:
        from generation.vllm_engine import VLLMEngine

        self.engine = VLLMEngine(model_path, seed=seed, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                                 enable_sleep=False, **llm_kwargs)
        self.llm = self.engine.llm
        self.last_tokens_per_s: float = 0.0

    def generate(
        self,
        prompts: list[str],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[list[str]]:
        """Return n completions for each prompt (greedy when temperature == 0).

        Prompt i is seeded seed + i: its samples do not depend on its batch neighbours."""
        spec = SamplingSpec(n, temperature, top_p, max_new_tokens, seed)
        if not prompts:
            return []
        ids = self.engine.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        samples = self.engine.sample(ids, spec)
        self.last_tokens_per_s = self.engine.last_tokens_per_s
        return [[s.text for s in row] for row in samples]


def make_backend(name: str, model_dir: str, batch_size: int, dtype: str, seed: int = 0) -> Backend:
    """Load the model in `model_dir` behind the named backend ("hf", "lean" or "vllm")."""
    if dtype not in _TORCH_DTYPES:
        raise ValueError(f"dtype: must be one of {sorted(_TORCH_DTYPES)}, got {dtype!r}")
    if name in ("hf", "lean"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=_TORCH_DTYPES[dtype])
        if torch.cuda.is_available():
            model = model.to("cuda")
        return (LeanBackend if name == "lean" else HFBackend)(model, tokenizer, batch_size)
    if name == "vllm":
        return VLLMBackend(model_dir, seed=seed, dtype=dtype)
    raise ValueError(f"name: unknown backend {name!r}; choices: ['hf', 'lean', 'vllm']")
