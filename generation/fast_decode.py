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
        b = tok.shape[0]
        x = F.embedding(tok[:, None], self.embed)  # (B, 1, H)
        cos, sin = self.rotary(x, positions)  # (B, 1, D)
        cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
        half = self.head_dim // 2
        q_size, kv_size = self.n_heads * self.head_dim, self.n_kv * self.head_dim
        mask = attend[:, None, None, :]  # (B, 1, 1, L)
        for i, layer in enumerate(self.layers):
            h = self._rms(x, layer.ln1)
            qkv = F.linear(h, layer.qkv_w, layer.qkv_b)
            q = qkv[..., :q_size].view(b, 1, self.n_heads, self.head_dim).transpose(1, 2)
            k = qkv[..., q_size : q_size + kv_size].view(b, 1, self.n_kv, self.head_dim).transpose(1, 2)
            v = qkv[..., q_size + kv_size :].view(b, 1, self.n_kv, self.head_dim).transpose(1, 2)
            q = q * cos + torch.cat((-q[..., half:], q[..., :half]), dim=-1) * sin
            k = k * cos + torch.cat((-k[..., half:], k[..., :half]), dim=-1) * sin
            keys[i][:, :, length : length + 1] = k
            values[i][:, :, length : length + 1] = v
            kk, vv = keys[i][:, :, : length + 1], values[i][:, :, : length + 1]
            att = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask, scale=self.scale,
                                                 enable_gqa=self.n_kv != self.n_heads)
            x = x + F.linear(att.transpose(1, 2).reshape(b, 1, q_size), layer.o_w)
            h = self._rms(x, layer.ln2)
            gate, up = F.linear(h, layer.gate_up_w).chunk(2, dim=-1)
            x = x + F.linear(F.silu(gate) * up, layer.down_w)
        x = self._rms(x, self.norm)
        return F.linear(x[:, 0], self.head, self.head_b).float()
