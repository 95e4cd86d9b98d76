"""`LeanEngine`: the `Engine` as a hand-written decode loop over a live `transformers` causal LM.

Same contract and chunking as `HFEngine` (chunks of max(1, batch_size // n) prompts, chunk k
seeded `spec.seed + offset + k`, completions cut at and including the first EOS), but not the
same random stream: a seeded run is reproducible, yet its samples differ from HF `generate`'s
(greedy outputs are the same, floating-point near-ties aside). It also reports
`Sample.logprobs`: the log-prob of each sampled token under the raw logits (temperature 1, no
top-p), which the loop has anyway.

Where the time goes instead (tiny default, 16 prompts x n=8, 72 new tokens; bench/sampling.py):
- one prefill forward over the distinct prompts only, its KV cache then repeated n times
  (`generate` prefills every copy: about a sixth of its batch time here); with the fused step
  the prompts' keys and values are not repeated at all (`fast_decode.SharedPrefix`: at 128
  prompts x 8 a chunk took 2.5 s against 3.55 s with the repeated cache; equal at 16 x 8);
- a KV cache preallocated for the whole completion, written in place and read as a view of the
  filled part (`DynamicCache` concatenates every layer at every token; `StaticCache` attends
  over its whole preallocated length, and was the slowest cache in this loop);
- sampling by inverse CDF (one uniform per row, `searchsorted` in the cumulative
  probabilities) instead of `torch.multinomial`, which took about a tenth of `generate`'s time;
- rows that have hit EOS leave the batch (and its cache) once they are `_DROP_FRACTION` of it,
  so a step costs what the sequences still running cost; the loop stops when none is. Leaving
  copies only the cache's filled positions (at 128 prompts x 8 this cut a chunk from 3.63 s to
  3.51 s; copying whole buffers was 28% of a profiled chunk).

Models are driven through their public forward arguments only (input_ids, attention_mask,
position_ids, the cache, use_cache, logits_to_keep when accepted), so any decoder-only model
`generate` supports works. The preallocated cache replaces transformers' plain full-attention
`DynamicLayer`s after the prefill; other layer kinds (sliding window, linear attention) stay as
transformers made them. On an accelerator the loop reads the finished flags back to the host
only every `_SYNC_EVERY` steps.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from generation import fast_decode
from generation.engine import SamplingSpec, cut_at_eos
from generation.hf_engine import HFEngine, left_pad

_SYNC_EVERY = 8  # steps between host reads of the finished flags on an accelerator (CPU: every step)
_DROP_FRACTION = 0.125  # finished rows leave the batch once they are this share of it


def _layer_classes() -> tuple[type, type] | None:
    """(transformers' `DynamicLayer`, a subclass that preallocates room for the completion), or
    None if this transformers version has no such layer: the plain dynamic cache is then used."""
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:  # pragma: no cover - other transformers versions
        return None

    class GrowingLayer(DynamicLayer):
        """Keys and values in a buffer of `capacity` positions; `keys`/`values` are views of
        the filled part, so a decode step writes one position instead of copying the layer."""

        def grow_from(self, layer: Any, capacity: int) -> None:
            keys, values = layer.keys, layer.values
            self.device = keys.device
            self.is_initialized = True
            self._length = keys.shape[-2]
            self._kbuf = keys.new_empty(*keys.shape[:-2], capacity, keys.shape[-1])
            self._vbuf = values.new_empty(*values.shape[:-2], capacity, values.shape[-1])
            self._kbuf[..., : self._length, :] = keys
            self._vbuf[..., : self._length, :] = values
            self._view()

        def _view(self) -> None:
            self.keys = self._kbuf[..., : self._length, :]
            self.values = self._vbuf[..., : self._length, :]

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
            end = self._length + key_states.shape[-2]
            if end > self._kbuf.shape[-2]:
                raise RuntimeError(f"LeanEngine cache: capacity {self._kbuf.shape[-2]} exceeded")
            self._kbuf[..., self._length : end, :] = key_states
            self._vbuf[..., self._length : end, :] = value_states
            self._length = end
            self._view()
            return self.keys, self.values

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            # Only the filled positions are copied: the rest of the buffer is not read yet.
            self._kbuf = self._select(self._kbuf, indices)
            self._vbuf = self._select(self._vbuf, indices)
            self._view()

        def _select(self, buf: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
            out = buf.new_empty(len(indices), *buf.shape[1:])
            out[..., : self._length, :] = buf[..., : self._length, :][indices]
            return out

        def set_length(self, length: int) -> None:
            """Mark `length` positions filled (the fused decode step writes the buffers directly)."""
            self._length = length
            self._view()

        def batch_repeat_interleave(self, repeats: int) -> None:
            self._kbuf = self._kbuf.repeat_interleave(repeats, dim=0)
            self._vbuf = self._vbuf.repeat_interleave(repeats, dim=0)
            self._view()

        def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
            self.batch_select_indices(beam_idx)

        def crop(self, tokens_to_remove: int) -> None:
            if tokens_to_remove < 0:
                self._length = max(0, self._length + tokens_to_remove)
                self._view()

    return DynamicLayer, GrowingLayer


_LAYERS = _layer_classes()


def cache_argument(model: Any) -> str:
    """The name of `model.forward`'s cache argument: `cache` in transformers 5's models that
    renamed it, `past_key_values` elsewhere."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _sample_tokens(logits: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """(B,) tokens drawn from softmax(logits / temperature) restricted to the top-p nucleus
    (the smallest set of most likely tokens whose mass reaches top_p, as HF's top-p keeps),
    by inverse CDF: one uniform per row. Never returns a zero-probability token."""
    probs = torch.softmax(logits / temperature, dim=-1)
    u = torch.rand((probs.shape[0], 1), device=probs.device, dtype=probs.dtype)
    if top_p >= 1.0:
        cdf = probs.cumsum(-1)
        total = cdf[:, -1:].contiguous()
        # First index whose cumulative mass exceeds u * total: a token of positive probability;
        # capped at the last token that adds mass (u * total may round up to total).
        last = torch.searchsorted(cdf, total)
        return torch.minimum(torch.searchsorted(cdf, u * total, right=True), last).squeeze(-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    cdf = sorted_probs.cumsum(-1)
    # Token j (most likely first) is in the nucleus when the mass before it is below top_p.
    size = ((cdf - sorted_probs) < top_p).sum(-1, keepdim=True)  # >= 1: the first token always is
    mass = cdf.gather(-1, size - 1)
    pick = torch.minimum(torch.searchsorted(cdf, u * mass, right=True), size - 1)
    return order.gather(-1, pick).squeeze(-1)


class LeanEngine(HFEngine):
    """Chunked, seeded sampling by a direct decode loop on a live causal LM (see the module
    docstring). `HFEngine`'s chunking, seeding and bookkeeping with this loop in place of
    `generate`; `load_weights`, `sleep` and `wake` do nothing: it samples from the module itself.

    cache: "grow" (preallocated, the default) or "dynamic" (transformers' `DynamicCache` as
    is); drop_finished: rows that hit EOS leave the batch. Both change speed only; but dropping
    rows changes the random stream, so seeded samples differ between its two settings.
    shared_prefix: with the fused step and n > 1, each prompt's keys and values are held once
    (speed only; the same samples up to float near-ties).
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int, progress: bool = False, *,
                 cache: str = "grow", drop_finished: bool = True, fused: bool = True,
                 shared_prefix: bool = True) -> None:
        if cache not in ("grow", "dynamic"):
            raise ValueError(f"cache: must be 'grow' or 'dynamic', got {cache!r}")
        super().__init__(model, tokenizer, batch_size, progress=progress)
        self.cache = cache
        self.drop_finished = drop_finished
        self.shared_prefix = shared_prefix
        # Decode steps as plain tensor operations where the architecture allows it
        # (generation/fast_decode.py); the module forward otherwise.
        self.fused = fused and cache == "grow" and _LAYERS is not None and fast_decode.supports(model)
        self._cache_arg = cache_argument(model)
        self._keep_last = "logits_to_keep" in inspect.signature(model.forward).parameters

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any,
                 last_only: bool = False) -> torch.Tensor:
        """float32 logits of the last position, (B, V)."""
        kwargs: dict[str, Any] = {self._cache_arg: cache}
        if last_only and self._keep_last:
            kwargs["logits_to_keep"] = 1
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **kwargs)
        return out.logits[:, -1].float()

    def _prefill(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, repeats: int,
                 capacity: int) -> tuple[Any, torch.Tensor]:
        """(cache, logits) of the distinct prompts, each repeated `repeats` times (rows of one
        prompt adjacent), the cache with room for `capacity` positions (capacity 0: the
        prefill's own cache, not repeated or grown)."""
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        logits = self._forward(ids, mask, positions, cache, last_only=True)
        if capacity == 0:
            return cache, logits
        if repeats > 1:
            cache.batch_repeat_interleave(repeats)
            logits = logits.repeat_interleave(repeats, 0)
        if self.cache == "grow" and _LAYERS is not None:
            plain, growing = _LAYERS
            for i, layer in enumerate(cache.layers):
                if type(layer) is plain and layer.is_initialized and layer.keys.numel():
                    grown = growing()
                    grown.grow_from(layer, capacity)
                    cache.layers[i] = grown
        return cache, logits

    label = "sample"

    @torch.no_grad()
    def _complete(self, chunk: list[list[int]], spec: SamplingSpec, device: torch.device
                  ) -> tuple[list[list[int]], list[list[float]]]:
        """Completions (cut at the first EOS) and their raw log-probs, spec.n rows per prompt."""
        greedy = spec.temperature == 0
        repeats = 1 if greedy else spec.n  # greedy samples are all the same: decode one
        ids, prompt_mask = left_pad(chunk, self.pad_id)
        ids, prompt_mask = ids.to(device), prompt_mask.to(device)
        width, steps = ids.shape[1], spec.max_new_tokens
        positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
        prefix = None
        if self.fused and self.shared_prefix and repeats > 1:
            # n samples per prompt: the prompts' keys and values are held once (fast_decode.SharedPrefix),
            # straight from the prefill's cache; `fused` means every layer is a full-attention one.
            cache, logits = self._prefill(ids, prompt_mask, positions, 1, 0)
            prefix = fast_decode.SharedPrefix([layer.keys for layer in cache.layers],
                                              [layer.values for layer in cache.layers], prompt_mask, repeats, steps)
            logits = logits.repeat_interleave(repeats, 0)
        else:
            cache, logits = self._prefill(ids, prompt_mask, positions, repeats, width + steps)
        rows = len(chunk) * repeats
        # Attention mask of the whole run: the prompt's, then ones for every new position (what
        # a row attends to after its EOS does not matter: those tokens are cut).
        mask = torch.ones((rows, width + steps), dtype=prompt_mask.dtype, device=device)
        mask[:, :width] = prompt_mask.repeat_interleave(repeats, 0)
        next_pos = positions[:, -1:].repeat_interleave(repeats, 0) + 1
        tokens = torch.full((rows, steps), self.pad_id, dtype=torch.long, device=device)
        logprobs = torch.zeros((rows, steps), dtype=torch.float32, device=device)
        live = torch.arange(rows, device=device)  # batch row -> output row
        done = torch.zeros(rows, dtype=torch.bool, device=device)
        sync_every = 1 if device.type == "cpu" else _SYNC_EVERY
        fused = self.fused and (prefix is not None or all(hasattr(layer, "_kbuf") for layer in cache.layers))
        decoder = fast_decode.FusedDecoder(self.model) if fused else None
        for t in range(steps):
            tok = logits.argmax(-1) if greedy else _sample_tokens(logits, spec.temperature, spec.top_p)
            tokens[live, t] = tok
            logprobs[live, t] = logits.gather(-1, tok[:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)
            done |= tok == self.eos_id
            if t == steps - 1:
                break
            if (t + 1) % sync_every == 0:
                n_done = int(done.sum())
                if n_done == done.shape[0]:
                    break
                if self.drop_finished and n_done >= max(1.0, _DROP_FRACTION * done.shape[0]):
                    keep = (~done).nonzero().squeeze(-1)
                    if prefix is not None:
                        prefix.select(keep, t)
                    else:
                        if decoder is not None:
                            for layer in cache.layers:
                                layer.set_length(width + t)
                        cache.batch_select_indices(keep)
                    live, done, tok, mask, next_pos = live[keep], done[keep], tok[keep], mask[keep], next_pos[keep]
            if prefix is not None:
                logits = decoder.step_shared(tok, next_pos, prefix, t)
            elif decoder is None:
                logits = self._forward(tok[:, None], mask[:, : width + t + 1], next_pos, cache)
            else:  # the buffers are re-read: dropping rows replaces them
                logits = decoder.step(tok, next_pos, [layer._kbuf for layer in cache.layers],
                                      [layer._vbuf for layer in cache.layers], width + t,
                                      mask[:, : width + t + 1].bool())
            next_pos = next_pos + 1
        completions, lps = [], []
        for row, lp_row in zip(tokens.tolist(), logprobs.tolist()):
            kept = cut_at_eos(row, self.eos_id)
            completions.append(kept)
            lps.append(lp_row[: len(kept)])
        if repeats != spec.n:
            completions = [c for c in completions for _ in range(spec.n)]
            lps = [x for x in lps for _ in range(spec.n)]
        return completions, lps
