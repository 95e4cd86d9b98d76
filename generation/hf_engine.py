"""`HFEngine`: the `Engine` on a live `transformers` causal LM (CPU, or small models on GPU).

It samples from the policy module itself, so there is no second copy of the weights to sync or
free: `load_weights`, `sleep` and `wake` do nothing.

Determinism: prompts are cut into chunks of max(1, batch_size // n) prompts; chunk k is
left-padded and sampled by one `generate(num_return_sequences=n)` call right after
`torch.manual_seed(spec.seed + offset + k)`. A run therefore depends only on (model, prompts,
spec, batch_size), not on what ran before; changing batch_size changes sampled (not greedy)
outputs. The committed reference results of the default pipeline depend on this exact scheme.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch
from tqdm.auto import tqdm

from generation.engine import Sample, SamplingSpec, check_prompts, cut_at_eos, eos_and_pad


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (B, max length) long, prompts right-aligned."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[row, width - len(p) :] = 1
    return ids, mask


class HFEngine:
    """Chunked, seeded `model.generate` with left padding.

    static_cache: preallocate the KV cache when the model is on CPU (about 10% of sampling time
    for the tiny default, where concatenating a growing cache dominates); elsewhere the default
    cache is kept, which `generate` may compile. synced_gpus: None lets transformers decide (it
    turns lockstep on for FSDP / ZeRO-3 sharded models under torch.distributed); True forces
    every rank to keep stepping until all ranks finish, which sharded weights need because each
    forward is a collective. Under it every rank must call `sample` with the same number of
    chunks, i.e. the same number of prompts.
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int, static_cache: bool = False,
                 progress: bool = False, synced_gpus: bool | None = None) -> None:
        self.eos_id, self.pad_id = eos_and_pad(tokenizer, batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.static_cache = static_cache
        self.progress = progress
        self.synced_gpus = synced_gpus
        self.last_tokens_per_s: float = 0.0

    label = "generate"  # progress-bar label

    def _generate_kwargs(self, spec: SamplingSpec, device: torch.device) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "num_return_sequences": spec.n,
            "max_new_tokens": spec.max_new_tokens,
            "pad_token_id": self.pad_id,
            "eos_token_id": self.eos_id,
            "synced_gpus": self.synced_gpus,
        }
        if self.static_cache and device.type == "cpu":
            kwargs["cache_implementation"] = "static"
        if spec.temperature == 0:
            # do_sample=False overrides any sampling default a saved generation_config carries.
            kwargs["do_sample"] = False
        else:
            # top_k=0 disables the top-k cut (transformers otherwise applies top_k=50); the
            # paper samples with temperature and top_p only.
            kwargs.update(do_sample=True, temperature=spec.temperature, top_p=spec.top_p, top_k=0)
        return kwargs

    def _complete(self, chunk: list[list[int]], spec: SamplingSpec,
                  device: torch.device) -> tuple[list[list[int]], list[list[float]] | None]:
        """spec.n completions per prompt of one chunk, prompt by prompt (a completion ends at its
        first EOS), and their log-probs when the sampler has them (generate: None)."""
        ids, mask = left_pad(chunk, self.pad_id)
        gen = self.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                  **self._generate_kwargs(spec, device))
        # generate pads rows that finished early, and returns each prompt's n rows contiguously.
        return [cut_at_eos(row, self.eos_id) for row in gen[:, ids.shape[1] :].tolist()], None

    @torch.no_grad()
    def sample(self, prompts: list[list[int]], spec: SamplingSpec, offset: int = 0) -> list[list[Sample]]:
        """spec.n samples per prompt, in prompt order (see the module docstring for seeding)."""
        check_prompts(prompts)
        self.model.eval()
        device = next(self.model.parameters()).device
        per_chunk = max(1, self.batch_size // spec.n)
        starts = range(0, len(prompts), per_chunk)
        bar = tqdm(starts, desc=f"{self.label} n={spec.n} T={spec.temperature}", unit="batch",
                   disable=not self.progress)
        out: list[list[Sample]] = []
        n_tokens, t0 = 0, time.perf_counter()
        for k, start in enumerate(bar):
            chunk = prompts[start : start + per_chunk]
            torch.manual_seed(spec.seed + offset + k)
            completions, lps = self._complete(chunk, spec, device)
            texts = self.tokenizer.batch_decode(completions, skip_special_tokens=True)
            n_tokens += sum(map(len, completions))
            for i, prompt in enumerate(chunk):
                rows = range(i * spec.n, (i + 1) * spec.n)
                out.append([Sample(tuple(prompt), tuple(completions[r]), None if lps is None else tuple(lps[r]),
                                   texts[r]) for r in rows])
        elapsed = time.perf_counter() - t0
        self.last_tokens_per_s = n_tokens / elapsed if elapsed > 0 else 0.0
        return out

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Nothing to do: sampling uses the live policy module, already up to date."""

    def sleep(self) -> None:
        """Nothing to free: the engine holds no memory besides the policy itself."""

    def wake(self) -> None:
        """Nothing to restore (see `sleep`)."""
