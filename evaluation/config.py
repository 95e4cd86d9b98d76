"""Configuration of the evaluation stage (the `evaluate` section of params.yaml).

Defaults follow the paper where it is affordable: sampling at temperature 0.7 and top_p 1.0 for
pass@K / maj@K (Fig. 7) and greedy decoding for top-1. The paper samples K up to 64 with 1024 new
tokens; the embedded default uses fewer samples and tokens to fit the CPU time budget.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("hf", "vllm")
DTYPES = ("float32", "bfloat16", "float16")


def _is_int(value: object) -> bool:
    # bool is an int subclass; "true" in YAML must not pass as 1.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class EvaluateConfig:
    """How to evaluate one model on the held-out test problems."""

    backend: str = "hf"  # "hf" (transformers, CPU or GPU) or "vllm" (GPU extra only)
    n_problems: int = 500  # first N test problems; 0 = all (std. error ~2.2 points at 500)
    batch_size: int = 128  # sequences per generate call (prompts x samples) for "hf"
    greedy_max_new_tokens: int = 72  # token budget of the greedy (top-1) pass; paper: 1024
    n_samples: int = 8  # samples per problem for pass@k / maj@k; paper Fig. 7: up to 64
    temperature: float = 0.7  # sampling temperature of the sampled pass (paper Fig. 7)
    top_p: float = 1.0  # nucleus sampling threshold of the sampled pass
    max_new_tokens: int = 72  # token budget of each sampled completion
    maj_subsets: int = 200  # max k-subsets averaged per problem for maj@k (all if fewer exist)
    dtype: str = "float32"  # weights dtype when loading; float32 on CPU

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: must be one of {BACKENDS}, got {self.backend!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: must be one of {DTYPES}, got {self.dtype!r}")
        for name in ("batch_size", "greedy_max_new_tokens", "n_samples", "max_new_tokens"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        if not _is_int(self.maj_subsets) or self.maj_subsets < 1:
            raise ValueError(f"maj_subsets: must be an integer >= 1, got {self.maj_subsets!r}")
        if not _is_int(self.n_problems) or self.n_problems < 0:
            raise ValueError(
                f"n_problems: must be an integer >= 0 (0 = all), got {self.n_problems!r}"
            )
        if not isinstance(self.temperature, (int, float)) or not 0.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature: must be in [0, 10], got {self.temperature}")
        if not isinstance(self.top_p, (int, float)) or not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p: must be in (0, 1], got {self.top_p}")
        self._check_cross_fields()

    def _check_cross_fields(self) -> None:
        if self.n_samples > 1 and self.temperature == 0.0:
            # Greedy samples are all identical: pass@k and maj@k would equal top1.
            raise ValueError(
                f"temperature: must be > 0 when n_samples > 1 (got n_samples={self.n_samples})"
            )
        if self.backend == "hf" and self.batch_size < self.n_samples:
            # One prompt's n samples are generated together and must fit in one batch.
            raise ValueError(
                f"batch_size: must be >= n_samples ({self.n_samples}) for the hf backend, "
                f"got {self.batch_size}"
            )
