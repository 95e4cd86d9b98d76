"""The generation-engine interface: token ids in, n sampled completions per prompt out.

Every sampler of the project (GRPO rollouts, reward-model data, Math-Shepherd continuations,
evaluation) goes through an `Engine`, so HF `generate` on CPU and vLLM on GPUs are one switch
(`runtime.engine`), not two code paths. Prompts are token ids without padding: callers tokenise
once, the way training does (no special tokens), and every engine sees the same ids.

The weight-sync half (`load_weights`, `sleep`, `wake`) is for an engine that keeps its own copy
of the policy (vLLM colocated with the trainer). The loop it is meant for:

    engine.wake()                                    # memory back (no-op for HF)
    engine.load_weights(model.state_dict().items())  # after each optimizer step
    samples = engine.sample(prompts, spec)
    engine.sleep()                                   # free memory while the trainer updates
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch


@dataclass(frozen=True)
class SamplingSpec:
    """How to sample: n completions per prompt; temperature 0 means greedy decoding."""

    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n: must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"temperature: must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p: must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens: must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Sample:
    """One sampled completion of one prompt.

    token_ids: the completion up to and including its first EOS, or max_new_tokens tokens when
    it never stopped. logprobs: the engine's log-prob of each of those tokens under the raw
    logits (temperature 1, no top-p), aligned with token_ids; None when the engine does not
    report them (HF). text: token_ids decoded without special tokens.
    """

    prompt_ids: tuple[int, ...]
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...] | None
    text: str


class Engine(Protocol):
    """What the samplers need from a generator; `HFEngine` and `VLLMEngine` implement it."""

    last_tokens_per_s: float  # completion tokens per second of the last `sample` call

    def sample(self, prompts: list[list[int]], spec: SamplingSpec, offset: int = 0) -> list[list[Sample]]:
        """spec.n samples per prompt, in prompt order. `offset` is the global index of
        prompts[0] when several processes split one prompt list, so that seeds do not repeat
        across processes."""
        ...

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Take the trainer's weights (HF parameter names), e.g. `model.state_dict().items()`."""
        ...

    def sleep(self) -> None:
        """Free the engine's memory while the trainer updates."""
        ...

    def wake(self) -> None:
        """Restore what `sleep` freed (weights must then be loaded again before sampling)."""
        ...


def cut_at_eos(ids: list[int], eos_id: int) -> list[int]:
    """`ids` up to and including the first EOS (all of it when there is none)."""
    try:
        return ids[: ids.index(eos_id) + 1]
    except ValueError:
        return ids


def check_prompts(prompts: list[list[int]]) -> None:
    """An empty prompt has no position to condition on; say which one it is."""
    for i, p in enumerate(prompts):
        if len(p) == 0:
            raise ValueError(f"prompts: prompt {i} has no tokens")


def eos_and_pad(tokenizer: Any, batch_size: int) -> tuple[int, int]:
    """(eos id, pad id) of a local engine, after checking what every engine needs: a positive
    batch size and an EOS token (without one, generation could never stop). A tokenizer
    without a pad token pads with EOS; the attention mask hides it."""
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer: has no eos token; generation could never stop")
    pad_id = tokenizer.pad_token_id
    return tokenizer.eos_token_id, pad_id if pad_id is not None else tokenizer.eos_token_id


@contextlib.contextmanager
def progress_bar(engine: Any, label: str, show: bool = True) -> Iterator[None]:
    """Within the block, `engine` shows its per-chunk tqdm bar under `label` (HF and lean engines
    have one; vLLM keeps its own quiet). The engine's own setting comes back afterwards, since a
    rollout engine is shared with GRPO, which keeps it quiet."""
    if not hasattr(engine, "progress"):
        yield
        return
    before = engine.progress, engine.__dict__.get("label")
    engine.progress, engine.label = show, label
    try:
        yield
    finally:
        engine.progress = before[0]
        if before[1] is None:
            del engine.label  # back to the class's label
        else:
            engine.label = before[1]
