"""Configuration of the evaluation stage (the `evaluate` section of params.yaml).

Defaults follow the paper where it is affordable: sampling at temperature 0.7 and top_p 1.0 for
pass@K / maj@K (Fig. 7) and greedy decoding for top-1. The paper samples K up to 64 with 1024 new
tokens; the embedded default uses fewer samples and tokens, and only the first problems of GSM8K
and MATH-500, to fit the CPU time budget. Each benchmark has its own size, prompt and budgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluation.prompts import EVAL_STYLES

BACKENDS = ("hf", "lean", "vllm")
DTYPES = ("float32", "bfloat16", "float16")


def _is_int(value: object) -> bool:
    # bool is an int subclass; "true" in YAML must not pass as 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_positive_ints(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark to evaluate; `name` matches a `--benchmark NAME PATH` of the stage."""

    name: str = "synthetic"
    prompt: str = "model"  # one of EVAL_STYLES; "model": the format the model was trained with (evaluation.prompts)
    n_problems: int = 500  # first N problems; 0 = all
    n_samples: int = 8  # samples per problem for pass@k / maj@k; paper Fig. 7: up to 64
    greedy_max_new_tokens: int = 72  # token budget of the greedy (top-1) pass; paper: 1024
    max_new_tokens: int = 72  # token budget of each sampled completion

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"name: must be letters, digits, '-' or '_', got {self.name!r}")
        if self.prompt not in EVAL_STYLES:
            raise ValueError(f"prompt: must be one of {EVAL_STYLES}, got {self.prompt!r}")
        _check_positive_ints(self, ("n_samples", "greedy_max_new_tokens", "max_new_tokens"))
        if not _is_int(self.n_problems) or self.n_problems < 0:
            raise ValueError(
                f"n_problems: must be an integer >= 0 (0 = all), got {self.n_problems!r}"
            )


@dataclass(frozen=True)
class EvaluateConfig:
    """How to evaluate one model on every benchmark in `benchmarks`."""

    backend: str = "hf"  # "hf" (transformers generate), "lean" (our KV-cache decode loop, generation/lean_engine.py) or "vllm" (GPU extra)
    batch_size: int = 128  # sequences per generate call (prompts x samples) for "hf"
    temperature: float = 0.7  # sampling temperature of the sampled pass (paper Fig. 7)
    top_p: float = 1.0  # nucleus sampling threshold of the sampled pass
    maj_subsets: int = 200  # max k-subsets averaged per problem for maj@k (all if fewer exist)
    dtype: str = "float32"  # weights dtype when loading; float32 on CPU
    grading_workers: int = 2  # math-verify worker processes
    grading_timeout: float = 5.0  # hard wall-clock seconds per graded item (then: wrong, counted)
    benchmarks: tuple[BenchmarkConfig, ...] = field(default_factory=lambda: (BenchmarkConfig(),))

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: must be one of {BACKENDS}, got {self.backend!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: must be one of {DTYPES}, got {self.dtype!r}")
        _check_positive_ints(self, ("batch_size", "maj_subsets", "grading_workers"))
        if not isinstance(self.temperature, (int, float)) or not 0.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature: must be in [0, 10], got {self.temperature}")
        if not isinstance(self.top_p, (int, float)) or not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p: must be in (0, 1], got {self.top_p}")
        if not isinstance(self.grading_timeout, (int, float)) or not self.grading_timeout >= 1.0:
            raise ValueError(f"grading_timeout: must be >= 1 second, got {self.grading_timeout}")
        self._check_benchmarks()

    def _check_benchmarks(self) -> None:
        if not self.benchmarks:
            raise ValueError("benchmarks: must list at least one benchmark")
        names = [b.name for b in self.benchmarks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"benchmarks: duplicate name {duplicates[0]!r}")
        for bench in self.benchmarks:
            if bench.n_samples > 1 and self.temperature == 0.0:
                # Greedy samples are all identical: pass@k and maj@k would equal top1.
                raise ValueError(
                    f"temperature: must be > 0 when n_samples > 1 (benchmark {bench.name})"
                )
            if self.backend in ("hf", "lean") and self.batch_size < bench.n_samples:
                # One prompt's n samples are generated together and must fit in one batch.
                raise ValueError(
                    f"batch_size: must be >= n_samples ({bench.n_samples}, benchmark "
                    f"{bench.name}) for the {self.backend} backend, got {self.batch_size}"
                )
