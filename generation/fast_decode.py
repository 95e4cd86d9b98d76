"""One decode step of a Llama- or Qwen2-shaped model as plain tensor operations, for `LeanEngine`.

Why: on the tiny default (4 layers, hidden 128) a decode step of 128 rows is about 0.3 GFLOP,
a few milliseconds of arithmetic on 2 cores, yet the `transformers` forward spends most of the
step in Python: mask construction, per-layer module dispatch, the cache's bookkeeping.
`bench/sampling.py` measures this path against the module forward and against HF `generate`.

The step reads and writes the engine's preallocated key/value buffers directly and uses fused
weights (q|k|v and gate|up concatenated once per `_complete` call, since GRPO changes the
weights between calls). The math is the model's: RMSNorm in float32, rotary embeddings from the
model's own `rotary_emb` (so any RoPE scaling it applies is kept), grouped-query attention by
`scaled_dot_product_attention`, SiLU MLP, tied or untied head. Anything else (other
architectures, attention or MLP biases on Llama, dropout, other activations) is refused by
`supports`, and the engine then drives the module forward as before.

With n samples per prompt, `SharedPrefix` keeps each prompt's keys and values once instead of n
times: attention at a decode step reads the whole cache, and the repeated prompt part was the
largest share of that reading in 1024-row evaluation chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


def supports(model: Any) -> bool:
    """True when `FusedDecoder` computes exactly what this model's forward computes."""
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) not in ("llama", "qwen2"):
        return False
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "rotary_emb") or not hasattr(model, "lm_head"):
        return False
    if getattr(cfg, "hidden_act", "silu") != "silu" or getattr(cfg, "mlp_bias", False):
        return False
    if cfg.model_type == "llama" and getattr(cfg, "attention_bias", False):
        return False
    if getattr(cfg, "pretraining_tp", 1) != 1:
        return False
    # Qwen2 with sliding-window layers attends to a window, not the whole cache.
    if getattr(cfg, "use_sliding_window", False) or any(t != "full_attention" for t in getattr(cfg, "layer_types", None) or []):
        return False
    return True


@dataclass
class _Layer:
    ln1: torch.Tensor
    ln2: torch.Tensor
    qkv_w: torch.Tensor
    qkv_b: torch.Tensor | None
    o_w: torch.Tensor
    gate_up_w: torch.Tensor
    down_w: torch.Tensor


class FusedDecoder:
    """Decode steps of `model` (in `supports`) over caller-owned key/value buffers.

    keys[i], values[i]: (B, kv_heads, capacity, head_dim) buffers of layer i; a step writes
    position `length` and attends over positions [0, length]. Weights are read when the object
    is built: build one per sampling call on a model that is being trained."""

    def __init__(self, model: Any) -> None:
        cfg = model.config
        inner = model.model
        self.n_heads = cfg.num_attention_heads
        self.n_kv = getattr(cfg, "num_key_value_heads", None) or self.n_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.n_heads
        self.eps = cfg.rms_norm_eps
        self.scale = self.head_dim ** -0.5
        self.embed = inner.embed_tokens.weight
        self.norm = inner.norm.weight
        self.head = model.lm_head.weight
        self.head_b = model.lm_head.bias
        self.rotary = inner.rotary_emb
        self.layers = []
        for layer in inner.layers:
            att, mlp = layer.self_attn, layer.mlp
            bias = None
            if att.q_proj.bias is not None:
                bias = torch.cat([att.q_proj.bias, att.k_proj.bias, att.v_proj.bias])
            self.layers.append(_Layer(
                layer.input_layernorm.weight, layer.post_attention_layernorm.weight,
                torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight]), bias, att.o_proj.weight,
                torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]), mlp.down_proj.weight))

    def _rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * h.to(x.dtype)

    def step(self, tok: torch.Tensor, positions: torch.Tensor, keys: list[torch.Tensor],
             values: list[torch.Tensor], length: int, attend: torch.Tensor) -> torch.Tensor:
        """float32 logits (B, V) after feeding `tok` (B,) at `positions` (B, 1); the new keys
        and values go to buffer position `length`. attend: (B, length + 1) bool, False where
        a row must not look (its left padding)."""
        mask = attend[:, None, None, :]  # (B, 1, 1, L)

        def attention(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            keys[i][:, :, length : length + 1] = k
            values[i][:, :, length : length + 1] = v
            kk, vv = keys[i][:, :, : length + 1], values[i][:, :, : length + 1]
            return F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask, scale=self.scale,
                                                  enable_gqa=self.n_kv != self.n_heads)

        return self._forward(tok, positions, attention)

    def step_shared(self, tok: torch.Tensor, positions: torch.Tensor, prefix: SharedPrefix, t: int) -> torch.Tensor:
        """As `step`, for rows that sample several outputs of one prompt: the prompt's keys and
        values are held once per prompt (`SharedPrefix`), the new ones go to completion position t."""
        return self._forward(tok, positions, lambda i, q, k, v: prefix.attend(i, q, k, v, t, self.scale))

    def _forward(self, tok: torch.Tensor, positions: torch.Tensor, attention: Any) -> torch.Tensor:
        """float32 logits (B, V) of one decode step; attention(layer, q, k, v) -> (B, heads, 1, D)."""
        b = tok.shape[0]
        x = F.embedding(tok[:, None], self.embed)  # (B, 1, H)
        cos, sin = self.rotary(x, positions)  # (B, 1, D)
        cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
        half = self.head_dim // 2
        q_size, kv_size = self.n_heads * self.head_dim, self.n_kv * self.head_dim
        for i, layer in enumerate(self.layers):
            h = self._rms(x, layer.ln1)
            qkv = F.linear(h, layer.qkv_w, layer.qkv_b)
            q = qkv[..., :q_size].view(b, 1, self.n_heads, self.head_dim).transpose(1, 2)
            k = qkv[..., q_size : q_size + kv_size].view(b, 1, self.n_kv, self.head_dim).transpose(1, 2)
            v = qkv[..., q_size + kv_size :].view(b, 1, self.n_kv, self.head_dim).transpose(1, 2)
            q = q * cos + torch.cat((-q[..., half:], q[..., :half]), dim=-1) * sin
            k = k * cos + torch.cat((-k[..., half:], k[..., :half]), dim=-1) * sin
            att = attention(i, q, k, v)
            x = x + F.linear(att.transpose(1, 2).reshape(b, 1, q_size), layer.o_w)
            h = self._rms(x, layer.ln2)
            gate, up = F.linear(h, layer.gate_up_w).chunk(2, dim=-1)
            x = x + F.linear(F.silu(gate) * up, layer.down_w)
        x = self._rms(x, self.norm)
        return F.linear(x[:, 0], self.head, self.head_b).float()


class SharedPrefix:
    """Key/value state of rows that sample n outputs per prompt, the prompt part held once.

    With n samples per prompt, a repeated cache holds n copies of every prompt's keys and
    values, and attention at every decode step reads all of them: on the default evaluation
    chunk (128 prompts x 8) that reading was the largest part of a step. Here the prompt part
    stays (prompts, kv_heads, W, D); each live row owns completion buffers (rows, kv_heads,
    steps, D) and knows its prompt and its slot among the prompt's n outputs. A step's attention
    scores the queries of a prompt's n outputs against its keys in one product, the completion
    keys row by row, and takes one softmax over both, which is the softmax over the
    concatenated sequence that `step` computes."""

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor], prompt_mask: torch.Tensor, n: int,
                 steps: int) -> None:
        self.keys, self.values = keys, values  # per layer (P, kv_heads, W, D)
        p, kv, _, d = keys[0].shape
        self.n = n
        # Additive mask of the prompt columns: -inf on left padding, broadcast over heads and queries.
        self.prompt_bias = torch.zeros(prompt_mask.shape, dtype=keys[0].dtype, device=keys[0].device)
        self.prompt_bias = self.prompt_bias.masked_fill(~prompt_mask.bool(), float("-inf"))[:, None, None, None, :]
        rows = p * n
        self.ck = [k.new_empty(rows, kv, steps, d) for k in keys]
        self.cv = [v.new_empty(rows, kv, steps, d) for v in values]
        index = torch.arange(rows, device=keys[0].device)
        self.prompt_of, self.slot = index // n, index % n

    def select(self, keep: torch.Tensor, filled: int) -> None:
        """Keep rows `keep` only; `filled` completion positions are copied."""
        for store in (self.ck, self.cv):
            for i, buf in enumerate(store):
                out = buf.new_empty(len(keep), *buf.shape[1:])
                out[:, :, :filled] = buf[:, :, :filled][keep]
                store[i] = out
        self.prompt_of, self.slot = self.prompt_of[keep], self.slot[keep]

    def attend(self, i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, t: int, scale: float) -> torch.Tensor:
        """(B, heads, 1, D) attention of layer i at completion position t (written here)."""
        self.ck[i][:, :, t : t + 1] = k
        self.cv[i][:, :, t : t + 1] = v
        b, heads, _, d = q.shape
        pk, pv = self.keys[i], self.values[i]
        n_prompts, kv, width, _ = pk.shape
        g = heads // kv  # query heads per key/value head (grouped-query attention)
        q = q.reshape(b, kv, g, d)
        # Prompt columns: the queries of each prompt's n slots in one (g * n) x W product.
        grid = q.new_zeros(n_prompts, self.n, kv, g, d)
        grid[self.prompt_of, self.slot] = q
        grid = grid.permute(0, 2, 3, 1, 4).reshape(n_prompts, kv, g * self.n, d)
        prompt_scores = torch.matmul(grid, pk.transpose(-1, -2)).view(n_prompts, kv, g, self.n, width)
        prompt_scores = (prompt_scores * scale + self.prompt_bias)[self.prompt_of, :, :, self.slot]  # (B, kv, g, W)
        ck, cv = self.ck[i][:, :, : t + 1], self.cv[i][:, :, : t + 1]
        own_scores = torch.matmul(q, ck.transpose(-1, -2)) * scale  # (B, kv, g, t + 1)
        probs = torch.softmax(torch.cat([prompt_scores, own_scores], dim=-1), dim=-1)
        back = probs.new_zeros(n_prompts, self.n, kv, g, width)
        back[self.prompt_of, self.slot] = probs[..., :width]
        back = back.permute(0, 2, 3, 1, 4).reshape(n_prompts, kv, g * self.n, width)
        from_prompt = torch.matmul(back, pv).view(n_prompts, kv, g, self.n, d)[self.prompt_of, :, :, self.slot]
        out = from_prompt + torch.matmul(probs[..., width:], cv)  # (B, kv, g, D)
        return out.reshape(b, heads, 1, d)
