"""Generation backends: n completions per prompt from a causal LM.

`HFBackend` wraps a loaded `transformers` model (CPU or GPU); `VLLMBackend` wraps vLLM, an
optional GPU extra imported lazily. Both return, per prompt, n decoded completions (new tokens
only, special tokens removed); temperature 0 means greedy decoding.

HFBackend cuts a prompt longer than the model's context minus the token budget to its last
tokens and counts it (`truncated_prompts`): few-shot prompts exceed the tiny model's 256 positions.

Determinism: HFBackend reseeds torch before every batch with `seed + batch_index`, so a run
depends only on (model, prompts, arguments), not on what ran before. Batches hold
`batch_size // n` prompts, so changing batch_size changes sampled (not greedy) outputs.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

_TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_GPU_EXTRA_HINT = "vllm is not installed: install the gpu extra: pip install -e .[gpu]"


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


def _check_args(n: int, temperature: float, top_p: float, max_new_tokens: int) -> None:
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    if temperature < 0:
        raise ValueError(f"temperature: must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p: must be in (0, 1], got {top_p}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens: must be >= 1, got {max_new_tokens}")


def completion_mask_from(tokens: torch.Tensor, eos_id: int) -> torch.Tensor:
    """(B, T) 1.0 up to and including the first EOS of each row, 0.0 after it (padding)."""
    is_eos = (tokens == eos_id).long()
    return ((is_eos.cumsum(-1) - is_eos) == 0).float()


class HFBackend:
    """Batched `model.generate` with left padding, one torch seed per batch."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int, progress: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        if tokenizer.eos_token_id is None:
            raise ValueError("tokenizer: has no eos token; generation could never stop")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.progress = progress
        # A tokenizer without a pad token pads with EOS; the attention mask hides it.
        pad_id = tokenizer.pad_token_id
        self.pad_id: int = pad_id if pad_id is not None else tokenizer.eos_token_id
        self.last_tokens_per_s: float = 0.0
        # Prompts longer than the context minus the generation budget keep their last tokens.
        self.max_positions: int | None = getattr(model.config, "max_position_embeddings", None)
        self.truncated_prompts = 0

    def _sampling_kwargs(
        self, n: int, temperature: float, top_p: float, max_new_tokens: int
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "num_return_sequences": n,
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.pad_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }
        if temperature == 0:
            # do_sample=False overrides any sampling default a saved generation_config carries.
            kwargs["do_sample"] = False
        else:
            # top_k=0 disables the top-k cut (transformers otherwise applies top_k=50); the
            # paper samples with temperature and top_p only.
            kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
        return kwargs

    @torch.inference_mode()
    def _generate_batch(self, batch: list[str], kwargs: dict) -> tuple[list[str], int]:
        device = next(self.model.parameters()).device
        # No special tokens: SFT and RL tokenize the prompt the same way (training/sft.py).
        enc = self.tokenizer(
            batch, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        )
        enc = self._fit_context(dict(enc), kwargs["max_new_tokens"])
        enc = {name: tensor.to(device) for name, tensor in enc.items()}
        out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        # Count tokens up to and including the first EOS (the rest is padding).
        n_tokens = int(completion_mask_from(new, self.tokenizer.eos_token_id).sum())
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return texts, n_tokens

    def _fit_context(self, enc: dict, max_new_tokens: int) -> dict:
        """Cut left-padded prompts to the context left after `max_new_tokens` (counted)."""
        if self.max_positions is None:
            return enc
        keep = max(1, self.max_positions - max_new_tokens)
        if enc["input_ids"].shape[1] <= keep:
            return enc
        # Left padding: the last `keep` columns hold every short prompt whole.
        self.truncated_prompts += int(enc["attention_mask"][:, :-keep].any(dim=1).sum())
        return {name: tensor[:, -keep:] for name, tensor in enc.items()}

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
        _check_args(n, temperature, top_p, max_new_tokens)
        kwargs = self._sampling_kwargs(n, temperature, top_p, max_new_tokens)
        per_batch = max(1, self.batch_size // n)
        starts = range(0, len(prompts), per_batch)
        results: list[list[str]] = []
        total_tokens, t0 = 0, time.perf_counter()
        bar = tqdm(
            starts, desc=f"generate n={n} T={temperature}", unit="batch", disable=not self.progress
        )
        for batch_index, start in enumerate(bar):
            torch.manual_seed(seed + batch_index)
            texts, n_tokens = self._generate_batch(prompts[start : start + per_batch], kwargs)
            total_tokens += n_tokens
            # generate returns the n sequences of each prompt contiguously.
            results.extend(texts[i : i + n] for i in range(0, len(texts), n))
        elapsed = time.perf_counter() - t0
        self.last_tokens_per_s = total_tokens / elapsed if elapsed > 0 else 0.0
        return results


class VLLMBackend:
    """vLLM generation from a saved model directory (GPU only)."""

    def __init__(
        self, model_path: str, *, seed: int = 0, dtype: str = "auto", **llm_kwargs: Any
    ) -> None:
        try:
            import vllm
        except ImportError as err:
            raise ImportError(_GPU_EXTRA_HINT) from err
        self._vllm = vllm
        self.llm = vllm.LLM(model=model_path, seed=seed, dtype=dtype, **llm_kwargs)
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
        """Return n completions for each prompt (greedy when temperature == 0)."""
        _check_args(n, temperature, top_p, max_new_tokens)
        # One seed per prompt, so samples of different prompts are not drawn from one stream
        # and a prompt's samples do not depend on its batch neighbours.
        params = [
            self._vllm.SamplingParams(
                n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, seed=seed + i
            )
            for i in range(len(prompts))
        ]
        t0 = time.perf_counter()
        outputs = self.llm.generate(prompts, params)
        elapsed = time.perf_counter() - t0
        n_tokens = sum(len(c.token_ids) for o in outputs for c in o.outputs)
        self.last_tokens_per_s = n_tokens / elapsed if elapsed > 0 else 0.0
        return [[c.text for c in o.outputs] for o in outputs]


def make_backend(name: str, model_dir: str, batch_size: int, dtype: str, seed: int = 0) -> Backend:
    """Load the model in `model_dir` behind the named backend ("hf" or "vllm")."""
    if dtype not in _TORCH_DTYPES:
        raise ValueError(f"dtype: must be one of {sorted(_TORCH_DTYPES)}, got {dtype!r}")
    if name == "hf":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=_TORCH_DTYPES[dtype])
        if torch.cuda.is_available():
            model = model.to("cuda")
        return HFBackend(model, tokenizer, batch_size)
    if name == "vllm":
        return VLLMBackend(model_dir, seed=seed, dtype=dtype)
    raise ValueError(f"name: unknown backend {name!r}; choices: ['hf', 'vllm']")
