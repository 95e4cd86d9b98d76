"""What every stage entry point shares: argument parsing, logging, params, seeding, atomic outputs
and turning user errors (bad params, missing or empty inputs) into one clear line."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import logging
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from inputs.config import missing_inputs
from pipeline.config import ConfigError, Params, load_params

log = logging.getLogger("pipeline")


def parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with the `--params` option every stage takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def add_training_outputs(p: argparse.ArgumentParser) -> None:
    """The outputs every training stage writes, so the stages cannot drift apart. Here rather than
    in train_common, which loads torch: `--help` must not."""
    p.add_argument("--out", required=True, help="output: model directory (with its tokenizer)")
    p.add_argument("--live", required=True, help="output: DVCLive directory (per-step logs)")
    p.add_argument("--metrics", required=True, help="output: final training metrics (JSON)")
    p.add_argument("--checkpoints", required=True, help="scratch: resumable checkpoints, removed on success")


def setup(params_path: str, uses_torch: bool = True) -> Params:
    """Logging, strict params, real inputs present, seeds and torch threads, in that order.

    Every stage checks every real input the params name, so `dvc repro` stops at its first
    stage, before any work, with one line naming the param and the path. uses_torch=False (the
    data stages, which draw from their own seeded `random.Random`s) seeds Python's generator
    only and never imports torch: the import and deterministic mode, which loads torch._dynamo,
    took 6.6 of the 6.9 s of `benchmarks@gsm8k` (cProfile), and world, dedup, mine and tokenizer
    run one after another ahead of SFT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    params = load_params(params_path)
    missing = missing_inputs(params.data)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConfigError(f"{Path(params_path).name}: {missing[0]}{more}")
    if uses_torch:
        seed_everything(params.seed, stage_threads(params.threads))
    else:
        random.seed(params.seed)
    return params


THREADS_ENV = "PIPELINE_THREADS"


def stage_threads(configured: int) -> int:
    """torch threads for this stage: `threads` from params, unless PIPELINE_THREADS is set.

    The parallel runner (pipeline/repro.py) sets it per stage, so that two stages side by side
    share the cores instead of each taking `threads`. It changes speed only: on CPU, deterministic
    mode makes a 1-thread and a 2-thread run write the same model, bit for bit (measured for SFT
    and GRPO; tests/pipeline/test_dvc_smoke.py checks every output hash of the smoke DAG)."""
    raw = os.environ.get(THREADS_ENV)
    if raw is None or raw == "":
        return configured
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{THREADS_ENV}={raw!r}: expected a whole number of threads >= 0 (0 = torch's default)")
    return value


def seed_everything(seed: int, threads: int) -> None:
    import numpy as np
    import torch
    from accelerate import PartialState

    # One process group for the whole stage, created before any library code asks for one: on a
    # machine without CUDA, `torchrun --nproc_per_node N -m pipeline.<stage>` then trains data-
    # parallel over gloo (accelerate only picks gloo when told it is on CPU).
    cpu = not torch.cuda.is_available()
    PartialState(cpu=cpu)
    if cpu:
        # Measured on the default: with 2 threads, three 10-step grpo@outcome runs logged three
        # different step-5 losses from identical samples. The update's gradients differed between
        # processes on the shared-prompt path (rl/shared_prompt.py; the one-row-per-output path
        # did not), and deterministic mode during the backward pass alone removed the
        # difference. With it on, repeated runs are bit-identical (equal to 1-thread runs) at
        # about the same speed (1.44-1.51 s a step against 1.41-1.46). Not on CUDA, where it
        # also needs CUBLAS_WORKSPACE_CONFIG and slower kernels: GPU runs are not promised
        # bit-identical.
        torch.use_deterministic_algorithms(True)
        keep_heap()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


# glibc mallopt parameters and the values keep_heap sets.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
HEAP_MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
HEAP_TRIM_THRESHOLD = 1 << 30  # mallopt takes a C int: 1 GiB, not more
HEAP_TOP_PAD = 64 << 20


def keep_heap() -> bool:
    """Let glibc keep freed tensor memory for reuse instead of handing it back; True if set.

    A CPU training step allocates and frees the same activation tensors (up to 16 MiB: the
    default SFT batch's logits) every step. glibc's default mmaps the first ones, then, with
    its dynamic thresholds, serves them from a heap it trims whenever the free top exceeds
    twice the largest freed block, so pages go back to the kernel and fault in, zeroed, on
    the next step. Measured on SFT (150 steps, 2 threads, five alternating pairs of fresh
    processes): 0.93 to 1.0 million minor page faults against 0.23 million with these settings,
    and 59/59, 68/58, 69/64, 43/43, 74/60 s (default/kept) on a machine whose speed drifted
    1.7x within minutes; never slower. GRPO and evaluation at 1 thread showed no difference
    beyond that noise. The numbers are the same bit for bit: only where memory comes from
    changes (torch aligns every CPU tensor to 64 bytes either way). Tensors over 32 MiB are
    still mapped and returned at free, so a large model's weights are not held twice; the cost
    is that the process keeps up to its peak heap (the default SFT: RSS about 1 GB either way).
    CPU runs only: on a GPU the host does little of this churn. Not glibc: a no-op."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # The mmap threshold first: setting any of the three turns glibc's dynamic thresholds off,
    # and a trim threshold alone would leave every block over 128 KiB mapped (measured on 40
    # SFT steps: 7.5 million faults, 42 to 45 s against 28 to 29 s).
    ok = mallopt(_M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD) == 1 and ok
    return mallopt(_M_TOP_PAD, HEAP_TOP_PAD) == 1 and ok


def run(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Call a stage's main; user errors exit 1 with one line (DEBUG=1 shows the traceback).

    FloatingPointError covers the training loops' NaN/inf stops (their exceptions subclass it),
    without importing torch into the data stages.
    """
    try:
        main(argv)
    except (ConfigError, FileNotFoundError, ValueError, FloatingPointError) as err:
        if os.environ.get("DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def require_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path} (run the stage that makes it first)")
    return path


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces `target` in one rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
