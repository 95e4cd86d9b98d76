"""Peak-memory estimate of a stage, from the model's shape and the run's sizes.

Stages log it at start-up (`log_estimate`) so that a run that cannot fit says so before it
spends minutes loading and sampling; `bench/memory.py` checks it against measured CPU peaks.

Conventions (the project's, see `training.runtime`): training keeps float32 master weights,
float32 gradients and float32 AdamW moments, and runs the forward under `torch.autocast` in
the compute dtype (a no-op in float32). Inference (reference model, reward-model data) holds
its weights in the compute dtype. All sizes are bytes per process; under `sharded` (FSDP2 /
ZeRO-3) weights, gradients and optimizer state are split over `world_size` processes.

The activation formulas were derived from what autograd saves in `transformers` 5's Llama and
Qwen2 layers (counted with `torch.autograd.graph.saved_tensors_hooks`, see the test), per token,
with H hidden, I intermediate, q = heads*head_dim, kv = kv_heads*head_dim, V vocab, T the
sequence length, h the heads, b the compute dtype's bytes:

  per layer, float32:   norms 24H (each RMSNorm saves its input, the normalised x and its
                        output) + attention + MLP 16I (gate, up, act(gate), act*up)
  per layer, autocast:  norms 16H + 5bH (input and normalised x in float32; q, k, v, gate and
                        up each save their own compute-dtype copy of the norm output)
                        + attention + MLP 4bI
  attention, sdpa (also flash/flex): b(2q + 2kv) for q, k, v, output + 4h (log-sum-exp);
                        with a padding mask + bT (the mask made additive, per layer), and
                        GQA repeats K and V to every head (b*4q)
  attention, eager:     b(2q + 2kv') with kv' = q under GQA (K and V repeated to every head)
                        + scores h*T*(4 + b') (float32 softmax, plus its compute-dtype copy
                        b' = b under autocast, 0 in float32); also sdpa on CUDA in float32
                        with GQA and no mask, which falls back to the math kernel
  gradient checkpointing: a layer keeps only its float32 input, 4H; backward recomputes one
                        layer at a time (its full activations again, counted once)
  a layer's backward:   working gradients 3bI (MLP) + 8H (hidden state in and out, float32)
  LM head:              final norm 8H + bH, float32 log-probabilities 4V saved; at the
                        start of backward the gradients of the log-probs and of the logits
                        (4V each) join them: 12V at the peak
  reward-model head:    final norm and dropout 12H + bH (one logit per token: no V term)
  autocast also keeps a compute-dtype copy of every matmul weight for backward: b * (linear
                        parameters, LM head included), all of them until the end of forward

activations = saved + the worst transient: the end of forward, the start of backward, or a
layer's backward (checkpointed: on its recomputation, with the other layers' inputs only).
The peak combines the parts by what coexists:

  training step   gradients + activations when micro-batches accumulate (earlier micro-
                  batches' gradients live while the next one runs); with one micro-batch per
                  step backward frees activations as it makes gradients: max(activations,
                  gradients + AdamW's temporaries)
  peak            weights + fsdp gathered + optimizer + reference
                  + max(training step, KV cache + decode step)   (GRPO samples, then trains)

Sharded (FSDP2, mixed_precision "no"): weights, gradients and optimizer divide by world_size;
"fsdp gathered" adds what FSDP holds whole in float32: the root unit (embedding, LM head, final
norm) and its gradient, two layers (running, prefetched) and one layer's gradient. GRPO's loss
takes float32 log-probs of the completion positions only; the head is counted over the whole
length (an upper bound). The KV cache is what the rows need, in the compute dtype; a vLLM
engine reserves its own share instead. Not modelled: framework workspaces (cuBLAS, NCCL),
allocator fragmentation, the prefill of sampling, a vLLM engine's reservation.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, PretrainedConfig

from training.config import ModelConfig

log = logging.getLogger(__name__)

STAGES = ("pretrain", "sft", "reward_model", "grpo", "rm_data")
TRAINING = ("pretrain", "sft", "reward_model", "grpo")
PADDED = ("sft", "reward_model", "grpo", "rm_data")  # batches of unequal rows carry a padding mask
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FP32 = 4
ADAM_MOMENTS = 2


@dataclass(frozen=True)
class ModelShape:
    """What memory depends on in a Llama/Qwen2-style decoder."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    tie_embeddings: bool
    attention_bias: bool  # Qwen2 has q/k/v biases
    mlp_bias: bool
    max_position_embeddings: int
    attention: str  # the attention implementation: "sdpa", "eager", "flash_attention_2", ...

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def layer_linear_parameters(self) -> int:
        """Weights (and biases) of one layer's matmuls: q, k, v, o, gate, up, down."""
        h, i, q, kv = self.hidden_size, self.intermediate_size, self.q_dim, self.kv_dim
        attn = h * q + 2 * h * kv + q * h + (q + 2 * kv if self.attention_bias else 0)
        mlp = 3 * h * i + (2 * i + h if self.mlp_bias else 0)
        return attn + mlp

    def layer_parameters(self) -> int:
        return self.layer_linear_parameters() + 2 * self.hidden_size  # + two RMSNorm gains

    def head_parameters(self, head: str) -> int:
        """The output head: an LM head (shared with the embedding when tied) or the reward
        model's one-logit score layer (weight and bias)."""
        if head == "score":
            return self.hidden_size + 1
        return 0 if self.tie_embeddings else self.vocab_size * self.hidden_size

    def parameters(self, head: str = "lm") -> int:
        """Parameter count as `sum(p.numel() for p in model.parameters())` gives it."""
        embed = self.vocab_size * self.hidden_size
        final_norm = self.hidden_size
        return embed + self.num_layers * self.layer_parameters() + final_norm + self.head_parameters(head)


def model_shape(config: PretrainedConfig | ModelConfig | str | Path, vocab_size: int | None = None) -> ModelShape:
    """The shape of a `transformers` config, a checkpoint directory (read offline), or the
    project's `ModelConfig` (a tiny model needs the tokenizer's `vocab_size`)."""
    if isinstance(config, (str, Path)):
        config = AutoConfig.from_pretrained(str(config), local_files_only=True)
    if isinstance(config, ModelConfig):
        if config.pretrained is not None:
            return model_shape(AutoConfig.from_pretrained(config.pretrained, local_files_only=True))
        if vocab_size is None:
            raise ValueError("model_shape: a tiny ModelConfig needs the tokenizer's vocab_size")
        return ModelShape(
            vocab_size=vocab_size, hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
            num_layers=config.num_layers, num_heads=config.num_heads, num_kv_heads=config.num_kv_heads,
            head_dim=config.hidden_size // config.num_heads, tie_embeddings=config.tie_embeddings,
            attention_bias=config.architecture == "qwen2", mlp_bias=False,
            max_position_embeddings=config.max_position_embeddings, attention="sdpa",
        )
    c = config.get_text_config()
    heads = c.num_attention_heads
    return ModelShape(
        vocab_size=c.vocab_size, hidden_size=c.hidden_size, intermediate_size=c.intermediate_size,
        num_layers=c.num_hidden_layers, num_heads=heads,
        num_kv_heads=getattr(c, "num_key_value_heads", None) or heads,
        head_dim=getattr(c, "head_dim", None) or c.hidden_size // heads,
        tie_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
        # Qwen2's attention has q/k/v biases in code, not as a config field.
        attention_bias=c.model_type == "qwen2" or bool(getattr(c, "attention_bias", False)),
        mlp_bias=bool(getattr(c, "mlp_bias", False)),
        max_position_embeddings=c.max_position_embeddings,
        # None until a model is built from the config; transformers then picks sdpa.
        attention=getattr(c, "_attn_implementation", None) or "sdpa",
    )


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per process, and how they combine into the peak (`total`)."""

    stage: str
    parameters: int
    weights: int  # float32 masters while training (compute dtype for inference), this process's shard
    gradients: int  # float32, this process's shard
    optimizer: int  # AdamW's two float32 moments, this process's shard
    gathered: int  # sharded: units FSDP holds whole (float32 parameters and gradients)
    activations: int  # one micro-batch's peak (see the module docstring)
    reference: int  # a frozen reference model in the compute dtype
    kv_cache: int  # sampling: 2 * layers * kv_heads * head_dim * rows * length * bytes
    decode: int  # sampling: one decode step's logits and probabilities over all rows
    step_temporaries: int  # AdamW's per-parameter temporaries (largest parameter)
    accumulating: bool  # gradients of earlier micro-batches live while the next one runs

    @property
    def training_phase(self) -> int:
        if self.gradients == 0:
            return self.activations
        if self.accumulating:
            return self.gradients + self.activations
        return max(self.activations, self.gradients + self.step_temporaries)

    @property
    def sampling_phase(self) -> int:
        return self.kv_cache + self.decode

    @property
    def total(self) -> int:
        """The modelled peak: phases that never coexist (sampling, training) take a max."""
        held = self.weights + self.gathered + self.optimizer + self.reference
        return held + max(self.training_phase, self.sampling_phase)


def _materialises_scores(shape: ModelShape, amp: bool, padded: bool, device: str) -> bool:
    """Whether attention keeps the T x T scores. sdpa without a mask runs GQA through
    `enable_gqa`, which on CUDA only the flash kernel (16-bit) takes: in float32 it falls back
    to the math kernel, which keeps them like eager (measured on an H200)."""
    gqa_fallback = device == "cuda" and not amp and not padded and shape.num_kv_heads != shape.num_heads
    return shape.attention == "eager" or (shape.attention == "sdpa" and gqa_fallback)


def _per_token_layer(shape: ModelShape, seq_len: int, b: int, amp: bool, padded: bool, device: str) -> float:
    """Bytes one non-checkpointed decoder layer saves for backward, per token."""
    h, i, q, kv, heads = shape.hidden_size, shape.intermediate_size, shape.q_dim, shape.kv_dim, shape.num_heads
    norms = 16 * h + (5 * b * h if amp else 8 * h)
    mlp = 4 * b * i
    if _materialises_scores(shape, amp, padded, device):
        kv_saved = q if shape.num_kv_heads != shape.num_heads else kv  # repeat_kv copies K, V to all heads
        scores = heads * seq_len * (FP32 + (b if amp else 0))
        attn = b * (2 * q + 2 * kv_saved) + scores
    elif padded:  # sdpa with a mask: the mask made additive per layer; GQA falls back to repeat_kv
        attn = b * (4 * q) + FP32 * heads + b * seq_len
    else:  # sdpa (also flash, flex): no T x T scores are kept, GQA runs on the kv heads
        attn = b * (2 * q + 2 * kv) + FP32 * heads
    return norms + attn + mlp


def _head_terms(shape: ModelShape, head: str, b: int, amp: bool) -> tuple[float, float, float, int]:
    """(saved, forward extra, backward extra) bytes per token of the output head, and the
    head's matmul weights (what autocast casts)."""
    h, v = shape.hidden_size, shape.vocab_size
    if head == "lm":
        forward_extra = (b + FP32 if amp else FP32) * v  # logits (+ their float32 copy) at log_softmax
        backward_extra = 2 * FP32 * v  # gradients of the log-probs and of the logits
        return 8 * h + b * h + FP32 * v, forward_extra, backward_extra, v * h
    # Final norm 8H, dropout's float32 noise 4H (CPU; a fused CUDA dropout keeps a 1-byte
    # mask), the score layer's input bH in autocast.
    return 12 * h + b * h, 0, 0, h + 1


def saved_bytes(shape: ModelShape, *, rows: int, seq_len: int, compute_dtype: str, gradient_checkpointing: bool,
                head: str = "lm", padded: bool = False, device: str = "cuda") -> int:
    """What autograd holds for backward at the end of a micro-batch's forward (weight casts
    included): the part of `activation_bytes` that tests count with saved_tensors_hooks."""
    b, amp, tokens = DTYPE_BYTES[compute_dtype], compute_dtype != "float32", rows * seq_len
    head_saved, _, _, head_weights = _head_terms(shape, head, b, amp)
    casts = b * (shape.num_layers * shape.layer_linear_parameters() + head_weights) if amp else 0
    if gradient_checkpointing:
        layer = FP32 * shape.hidden_size * tokens  # a checkpointed layer keeps its input only
        casts = b * head_weights if amp else 0
    else:
        layer = _per_token_layer(shape, seq_len, b, amp, padded, device) * tokens
    return int(shape.num_layers * layer + head_saved * tokens + casts)


def activation_bytes(shape: ModelShape, *, rows: int, seq_len: int, compute_dtype: str,
                     gradient_checkpointing: bool, head: str = "lm", padded: bool = False,
                     device: str = "cuda") -> int:
    """Peak activation bytes of one training micro-batch of `rows` x `seq_len` tokens."""
    b, amp, tokens = DTYPE_BYTES[compute_dtype], compute_dtype != "float32", rows * seq_len
    _, forward_extra, backward_extra, head_weights = _head_terms(shape, head, b, amp)
    saved = saved_bytes(shape, rows=rows, seq_len=seq_len, compute_dtype=compute_dtype,
                        gradient_checkpointing=gradient_checkpointing, head=head, padded=padded, device=device)
    layer_casts = b * shape.layer_linear_parameters() if amp else 0
    all_casts = shape.num_layers * layer_casts + b * head_weights if amp else 0
    # A layer's backward works on gradients: of the MLP's act*up, act and up at once (3bI), and
    # of the hidden state into and out of the layer (float32, 8H).
    working = (3 * b * shape.intermediate_size + 2 * FP32 * shape.hidden_size) * tokens
    if not gradient_checkpointing:
        return int(saved + max(forward_extra * tokens, backward_extra * tokens, working))
    # autocast's weight cache holds every cast until autocast exits at the end of forward,
    # though checkpointed layers save none of them for backward.
    end_of_forward = saved - (b * head_weights if amp else 0) + all_casts + forward_extra * tokens
    start_of_backward = saved + backward_extra * tokens
    # After the head's backward, layers are re-run one at a time: the checkpointed inputs, one
    # layer's full activations and weight casts, and its backward's working gradients.
    inputs = shape.num_layers * FP32 * shape.hidden_size * tokens
    layer = _per_token_layer(shape, seq_len, b, amp, padded, device) * tokens
    recompute = inputs + layer + layer_casts + working
    return int(max(end_of_forward, start_of_backward, recompute))


def estimate(config: PretrainedConfig | ModelShape | ModelConfig | str | Path, *, stage: str, compute_dtype: str,
             micro_batch_size: int, seq_len: int, gradient_checkpointing: bool, trainable: bool = True,
             with_reference: bool | None = None, sampling: tuple[int, int] | None = None, world_size: int = 1,
             sharded: bool = False, accumulating: bool = True, vocab_size: int | None = None,
             device: str | None = None) -> MemoryEstimate:
    """Peak memory of one process of `stage`.

    micro_batch_size x seq_len: the rows and tokens of one forward/backward. sampling: (rows,
    max total length) of the KV cache this process samples (grpo, rm_data). with_reference:
    None means the stage's default (grpo holds one). accumulating: False when one micro-batch
    makes the whole optimizer step (then activations and gradients overlap less). device:
    "cuda" or "cpu" (attention kernels differ); None: cuda when this process sees a GPU.
    """
    if stage not in STAGES:
        raise ValueError(f"stage: must be one of {STAGES}, got {stage!r}")
    if compute_dtype not in DTYPE_BYTES:
        raise ValueError(f"compute_dtype: must be one of {tuple(DTYPE_BYTES)}, got {compute_dtype!r}")
    if world_size < 1 or micro_batch_size < 1 or seq_len < 1:
        raise ValueError("world_size, micro_batch_size and seq_len must be >= 1")
    shape = config if isinstance(config, ModelShape) else model_shape(config, vocab_size)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    b = DTYPE_BYTES[compute_dtype]
    head = "score" if stage == "reward_model" else "lm"
    params = shape.parameters(head)
    training = trainable and stage in TRAINING
    shards = world_size if sharded else 1
    weights = gradients = optimizer = gathered = activations = temporaries = 0
    if training:
        weights = -(-FP32 * params // shards)
        gradients = -(-FP32 * params // shards)
        optimizer = -(-ADAM_MOMENTS * FP32 * params // shards)
        largest = max(shape.vocab_size * shape.hidden_size, shape.hidden_size * shape.intermediate_size)
        temporaries = 2 * FP32 * largest  # AdamW's sqrt and division of one parameter at a time
        if sharded and world_size > 1:
            # FSDP2 with mixed_precision "no" (configs/accelerate/fsdp.yaml) gathers in float32.
            # The root unit (embedding, LM head, final norm) stays whole through forward and
            # backward, its unsharded gradient until the end of backward; of the layers, the
            # running and the prefetched one are whole, and one layer's gradient until its
            # reduce-scatter.
            root = params - shape.num_layers * shape.layer_parameters()
            gathered = FP32 * (2 * root + 3 * shape.layer_parameters())
        activations = activation_bytes(shape, rows=micro_batch_size, seq_len=seq_len, compute_dtype=compute_dtype,
                                       gradient_checkpointing=gradient_checkpointing, head=head,
                                       padded=stage in PADDED, device=device)
    else:
        weights = b * params
    if with_reference is None:
        with_reference = stage == "grpo"
    reference = b * shape.parameters("lm") if with_reference else 0
    kv_cache = decode = 0
    if sampling is not None:
        rows, length = sampling
        kv_cache = 2 * shape.num_layers * shape.kv_dim * rows * length * b
        decode = rows * shape.vocab_size * (b + 3 * FP32)  # logits, float32 copy, scaled, probs
    return MemoryEstimate(stage=stage, parameters=params, weights=weights, gradients=gradients, optimizer=optimizer,
                          gathered=gathered, activations=activations, reference=reference, kv_cache=kv_cache,
                          decode=decode, step_temporaries=temporaries, accumulating=accumulating)


def human(n: float) -> str:
    """Bytes as GiB (>= 1 GiB) or MiB."""
    if n >= 2**30:
        return f"{n / 2**30:.2f} GiB"
    return f"{n / 2**20:.1f} MiB"


def format_estimate(est: MemoryEstimate, title: str | None = None) -> str:
    """A short table: one line per non-zero part, then the peak and how it is combined."""
    lines = [f"{title or est.stage}: {est.parameters / 1e9:.3g} B parameters" if est.parameters >= 1e8
             else f"{title or est.stage}: {est.parameters / 1e6:.3g} M parameters"]
    parts = [("weights", est.weights), ("gradients", est.gradients), ("optimizer", est.optimizer),
             ("fsdp gathered", est.gathered), ("activations", est.activations), ("reference", est.reference),
             ("kv cache", est.kv_cache), ("decode step", est.decode)]
    for name, n in parts:
        if n:
            lines.append(f"  {name:<14}{human(n):>11}")
    terms = [name for name, n in (("weights", 1), ("fsdp gathered", est.gathered), ("optimizer", est.optimizer),
                                  ("reference", est.reference)) if n]
    train = ""
    if est.gradients:
        train = "gradients + activations" if est.accumulating else "max(activations, gradients)"
    elif est.activations:
        train = "activations"
    sample = "kv cache + decode step" if est.kv_cache or est.decode else ""
    if train and sample:
        terms.append(f"max({train}, {sample})")
    elif train or sample:
        terms.append(train or sample)
    lines.append(f"  {'peak':<14}{human(est.total):>11}  = {' + '.join(terms)}")
    return "\n".join(lines)


def device_memory() -> tuple[int, str]:
    """(total bytes, name) of the device this process trains on: the current CUDA GPU, else RAM."""
    import torch

    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return props.total_memory, f"cuda:{index} {props.name}"
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "CPU RAM"


def log_estimate(stage_name: str, est: MemoryEstimate, device_total_bytes: int | None = None) -> bool:
    """Log the estimate; warn when its peak exceeds the device's memory. Returns whether it fits."""
    if device_total_bytes is None:
        device_total_bytes, device = device_memory()
    else:
        device = "device"
    log.info("memory estimate\n%s", format_estimate(est, stage_name))
    if est.total > device_total_bytes:
        log.warning("%s: estimated peak memory %s exceeds the %s's %s; expect out-of-memory. Lower the "
                    "micro-batch size, turn on gradient checkpointing, or shard over more processes.",
                    stage_name, human(est.total), device, human(device_total_bytes))
        return False
    return True
