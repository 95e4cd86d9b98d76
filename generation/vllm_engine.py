"""`VLLMEngine`: the `Engine` on vLLM, colocated in the training process (TRL's "colocate" mode).

The vLLM engine core runs inside this process (VLLM_ENABLE_V1_MULTIPROCESSING=0), on the same
GPU as the trainer, so the trainer can push its weights straight into vLLM's model object after
each optimizer step, and put vLLM to sleep while it updates.

Written against the documented V1-engine API (vLLM 0.11 onwards; the `gpu` extra pins one
release, see pyproject.toml) and checked against recent vLLM source: `LLM(enable_sleep_mode=...,
logprobs_mode=...)`, `LLM.generate(TokensPrompt, SamplingParams)`, `LLM.sleep(level)`,
`LLM.wake_up(tags)`, `LLM.reset_prefix_cache()`, `LLM.apply_model(fn)`, and the in-process path
`llm.llm_engine.model_executor.driver_worker.model_runner.model` that TRL's colocate mode uses
(V1's LLMEngine sets `model_executor` only when multiprocessing is off). vLLM cannot run on the
CPU machine this was written on; tests/generation/test_engine.py has the GPU test for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from generation.engine import Sample, SamplingSpec, check_prompts

GPU_EXTRA_HINT = "vllm is not installed: install the gpu extra: pip install -e .[gpu]"

# Level 2 discards the weights (and the KV cache) instead of copying the weights to CPU memory
# as level 1 does: the trainer loads fresh weights after every optimizer step anyway, so a CPU
# copy would be stale at once and would cost a model-sized host copy per step. The price is
# that `load_weights` must run between `wake` and `sample`, which `sample` checks.
SLEEP_LEVEL = 2

# Module-name pieces that wrappers add to parameter names and vLLM's loaders do not know:
# FSDP1, activation checkpointing, torch.compile. DDP's "module." only ever leads.
_WRAPPER_PARTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")


def hf_name(name: str) -> str:
    """The plain HF parameter name of a possibly wrapped module's parameter."""
    for part in _WRAPPER_PARTS:
        name = name.replace(part, "")
    return name.removeprefix("module.")


def _full(tensor: torch.Tensor) -> torch.Tensor:
    # An FSDP2 shard is a DTensor; vLLM wants the whole tensor. full_tensor() is a collective,
    # so under FSDP2 every rank must call load_weights with the same names in the same order.
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


class VLLMEngine:
    """vLLM in this process; tensor parallelism 1 (one full copy of the model per process).

    Under torch.distributed (several training processes), each process holds its own engine
    and uses vLLM's "external_launcher" executor, as TRL's colocate mode does, so vLLM joins
    the existing process group instead of starting its own. `llm_kwargs` go to `vllm.LLM`.
    """

    def __init__(self, model_dir: str, *, seed: int, dtype: str, gpu_memory_utilization: float,
                 enable_sleep: bool, max_model_len: int | None = None, **llm_kwargs: Any) -> None:
        # Before vLLM reads its settings: the engine core must live in this process, or the
        # model object that load_weights writes to would sit in a child process.
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        try:
            import vllm
            from vllm.inputs import TokensPrompt
        except ImportError as err:
            raise ImportError(GPU_EXTRA_HINT) from err
        self._sampling_params = vllm.SamplingParams
        self._tokens_prompt = TokensPrompt
        kwargs: dict[str, Any] = dict(
            model=model_dir, seed=seed, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
            enable_sleep_mode=enable_sleep, max_model_len=max_model_len,
            # Log-probs of the raw logits (temperature 1, before top-p), the quantity GRPO's
            # token_logprobs computes, so the two are comparable.
            logprobs_mode="raw_logprobs",
        )
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            kwargs["distributed_executor_backend"] = "external_launcher"
        kwargs.update(llm_kwargs)
        self.llm = vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.eos_id: int = self.tokenizer.eos_token_id
        self.enable_sleep = enable_sleep
        self._asleep: set[str] = set()  # vLLM sleep tags not woken yet: "weights", "kv_cache"
        self._weights_lost = False  # slept at level 2 and no load_weights since
        self.last_tokens_per_s: float = 0.0

    def sample(self, prompts: list[list[int]], spec: SamplingSpec, offset: int = 0) -> list[list[Sample]]:
        """spec.n samples per prompt, in prompt order.

        Prompt i is seeded with spec.seed + offset + i, so its samples depend neither on its
        batch neighbours nor on how prompts are split across processes (up to floating-point
        differences between batch shapes, which vLLM does not rule out).
        """
        check_prompts(prompts)
        self._ready()
        params = [
            self._sampling_params(
                n=spec.n, temperature=spec.temperature, top_p=spec.top_p, top_k=0,  # 0: no top-k cut
                max_tokens=spec.max_new_tokens, seed=spec.seed + offset + i,
                logprobs=0,  # 0: only the sampled token's log-prob comes back
            )
            for i in range(len(prompts))
        ]
        requests = [self._tokens_prompt(prompt_token_ids=list(p)) for p in prompts]
        t0 = time.perf_counter()
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        elapsed = time.perf_counter() - t0
        result = [[self._to_sample(p, c) for c in sorted(o.outputs, key=lambda c: c.index)]
                  for p, o in zip(prompts, outputs)]
        n_tokens = sum(len(s.token_ids) for row in result for s in row)
        self.last_tokens_per_s = n_tokens / elapsed if elapsed > 0 else 0.0
        return result

    def _to_sample(self, prompt: list[int], c: Any) -> Sample:
        ids = list(c.token_ids)
        logprobs = _sampled_logprobs(ids, c.logprobs)
        # vLLM keeps the EOS that stopped a sequence in token_ids (only the text drops it);
        # finish_reason "stop" with no stop_reason means EOS. Should a version drop it, put it
        # back, so that every engine's completions end the same way; its log-prob is unknown.
        if c.finish_reason == "stop" and c.stop_reason is None and (not ids or ids[-1] != self.eos_id):
            ids.append(self.eos_id)
            logprobs = None
        return Sample(tuple(prompt), tuple(ids), logprobs, c.text)

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Copy the trainer's weights (HF names, e.g. `model.state_dict().items()`) into vLLM.

        Tensors stream one by one (no second copy of the model); vLLM's loader maps HF names
        (fused q/k/v, tied embeddings) itself. Cached prompt prefixes are dropped afterwards:
        their KV entries were computed with the old weights.
        """
        if "weights" in self._asleep:  # writing into discarded memory would crash
            torch.cuda.empty_cache()
            self.llm.wake_up(tags=["weights"])
            self._asleep.discard("weights")
        weights: Iterator[tuple[str, torch.Tensor]] = ((hf_name(n), _full(t)) for n, t in named_tensors)
        model = self._inprocess_model()
        if model is not None:
            model.load_weights(weights)
        elif hasattr(self.llm, "apply_model"):
            # Newer vLLM without the attribute path: run the loader on the worker's model. The
            # worker is in this process, so the tensors are passed, not serialised.
            self.llm.apply_model(lambda m: m.load_weights(weights))
        else:
            raise RuntimeError(
                "VLLMEngine.load_weights: this vLLM version has neither "
                "llm.llm_engine.model_executor.driver_worker.model_runner.model nor LLM.apply_model; "
                "install the vLLM release the gpu extra pins (pyproject.toml)"
            )
        self._weights_lost = False
        self.llm.reset_prefix_cache()

    def _inprocess_model(self) -> Any:
        try:
            return self.llm.llm_engine.model_executor.driver_worker.model_runner.model
        except AttributeError:
            return None

    def sleep(self) -> None:
        """Free vLLM's GPU memory (weights and KV cache) while the trainer updates; no-op unless
        built with enable_sleep."""
        if not self.enable_sleep or self._asleep:
            return
        self.llm.sleep(level=SLEEP_LEVEL)
        self._asleep = {"weights", "kv_cache"}
        self._weights_lost = True

    def wake(self) -> None:
        """Take back the memory `sleep` freed; call `load_weights` before the next `sample`."""
        if not self._asleep:
            return
        # Memory the trainer freed sits in PyTorch's cache, where vLLM's allocator cannot use it.
        torch.cuda.empty_cache()
        self.llm.wake_up(tags=sorted(self._asleep))
        self._asleep.clear()

    def _ready(self) -> None:
        self.wake()
        if self._weights_lost:
            raise RuntimeError(
                f"VLLMEngine.sample: the engine slept at level {SLEEP_LEVEL}, which discards its weights; "
                "call load_weights(model.state_dict().items()) after wake() and before sample()"
            )


def _sampled_logprobs(ids: list[int], steps: Any) -> tuple[float, ...] | None:
    """The log-prob of each sampled token from vLLM's per-position {token id: Logprob} maps."""
    if steps is None or len(steps) != len(ids):
        return None
    return tuple(float(step[token].logprob) for token, step in zip(ids, steps))
