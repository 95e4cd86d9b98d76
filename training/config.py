"""Typed configs for the tokenizer, the model factory, continued pretraining and SFT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to `min_lr_ratio * lr` (constant if equal)."""

    lr: float
    betas: tuple[float, float]
    weight_decay: float
    warmup_frac: float  # share of the steps spent warming up linearly from 0
    min_lr_ratio: float  # final lr as a fraction of lr; 1.0 gives a constant schedule
    grad_clip: float  # max global grad norm; 0 disables clipping

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr: must be > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas: must be two numbers in [0, 1), got {list(self.betas)}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac: must be in [0, 1), got {self.warmup_frac}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio: must be in [0, 1], got {self.min_lr_ratio}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip: must be >= 0, got {self.grad_clip}")


@dataclass(frozen=True)
class TokenizerConfig:
    """A byte-level BPE trained locally, or a pretrained tokenizer copied from a name/path."""

    pretrained: str | None  # hub name or local dir; when set, no tokenizer is trained
    vocab_size: int  # BPE vocabulary including the 256 byte symbols and special tokens
    min_frequency: int  # a merge must be seen this often

    def __post_init__(self) -> None:
        if self.pretrained is None and self.vocab_size < 300:
            raise ValueError(f"vocab_size: must be >= 300 for byte-level BPE, got {self.vocab_size}")
        if self.min_frequency < 1:
            raise ValueError(f"min_frequency: must be >= 1, got {self.min_frequency}")


@dataclass(frozen=True)
class ModelConfig:
    """A tiny model built from a `transformers` config, or a pretrained checkpoint."""

    pretrained: str | None  # hub name or local dir; when set the size fields are ignored
    architecture: Literal["llama", "qwen2"]
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    max_position_embeddings: int
    tie_embeddings: bool
    dtype: Literal["float32", "bfloat16", "float16"]  # training/inference dtype

    def __post_init__(self) -> None:
        for name in ("hidden_size", "intermediate_size", "num_layers", "num_heads", "num_kv_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size: must be divisible by num_heads ({self.num_heads}), got {self.hidden_size}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads: must divide num_heads, got {self.num_kv_heads}")
        if self.max_position_embeddings < 16:
            raise ValueError(f"max_position_embeddings: must be >= 16, got {self.max_position_embeddings}")


@dataclass(frozen=True)
class PretrainConfig:
    """Continued pretraining (causal LM) on the mined, decontaminated corpus."""

    steps: int  # optimizer steps; 0 copies the initial model through unchanged
    batch_size: int  # sequences per step
    seq_len: int  # tokens per packed sequence
    micro_batch_size: int  # sequences per forward/backward (gradients accumulate); 0: the whole batch at once
    optim: OptimConfig
    log_every: int  # DVCLive log interval in steps
    checkpoint_every: int  # resumable checkpoint interval in steps; 0 disables

    def __post_init__(self) -> None:
        _check_loop(self)
        if self.seq_len < 8:
            raise ValueError(f"seq_len: must be >= 8, got {self.seq_len}")


@dataclass(frozen=True)
class SFTConfig:
    """Chain-of-thought SFT on (question, solution) pairs, loss on solution tokens only."""

    steps: int
    batch_size: int
    max_len: int  # prompt + solution tokens; longer examples are dropped and counted
    micro_batch_size: int  # examples per forward/backward (gradients accumulate); 0: the whole batch at once
    optim: OptimConfig
    log_every: int
    checkpoint_every: int
    length_groups: int = 1  # batches per length-sorted block of draws (1: plain random batches)
    packing: bool = False  # examples packed into rows, attention masked per example (training/sft.py)

    def __post_init__(self) -> None:
        _check_loop(self)
        if self.max_len < 8:
            raise ValueError(f"max_len: must be >= 8, got {self.max_len}")
        if self.length_groups < 1:
            raise ValueError(f"length_groups: must be >= 1, got {self.length_groups}")


@dataclass(frozen=True)
class RuntimeConfig:
    """How the training and sampling stages run: launcher, memory savers, generation engine.

    These change speed and memory, not what is computed (beyond floating-point noise). The
    compute dtype is `model.dtype`; weights and optimizer state stay float32 while training.
    """

    launcher: str  # starts the training stages: "python", or "accelerate launch --config_file ..."
    gradient_checkpointing: bool  # recompute activations in backward (less memory, ~30% more compute)
    engine: Literal["hf", "lean", "vllm"]  # sampler of GRPO rollouts, reward-model data and Math-Shepherd
    vllm_gpu_memory: float  # share of GPU memory the colocated vLLM engine may take
    vllm_sleep: bool  # free the vLLM engine's memory while the trainer updates
    shared_prompt: bool  # GRPO updates run each group's prompt once (rl/shared_prompt.py): short outputs only

    def __post_init__(self) -> None:
        if not self.launcher.strip():
            raise ValueError("launcher: must be a command, e.g. 'python' or 'accelerate launch --config_file F'")
        if self.engine not in ("hf", "lean", "vllm"):
            raise ValueError(f"engine: must be 'hf', 'lean' or 'vllm', got {self.engine!r}")
        if not 0 < self.vllm_gpu_memory <= 1:
            raise ValueError(f"vllm_gpu_memory: must be in (0, 1], got {self.vllm_gpu_memory}")
        if self.shared_prompt and self.gradient_checkpointing:
            # transformers turns the KV cache off in checkpointed training, which the shared prompt needs.
            raise ValueError("shared_prompt: needs gradient_checkpointing false (set one of them to false)")


def _check_loop(cfg: PretrainConfig | SFTConfig) -> None:
    if cfg.steps < 0:
        raise ValueError(f"steps: must be >= 0, got {cfg.steps}")
    if cfg.batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {cfg.batch_size}")
    if cfg.log_every < 1:
        raise ValueError(f"log_every: must be >= 1, got {cfg.log_every}")
    if cfg.checkpoint_every < 0:
        raise ValueError(f"checkpoint_every: must be >= 0, got {cfg.checkpoint_every}")
    if cfg.micro_batch_size < 0:
        raise ValueError(f"micro_batch_size: must be >= 0, got {cfg.micro_batch_size}")
