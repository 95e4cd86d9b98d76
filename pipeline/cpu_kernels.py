"""The CPU kernel family every stage uses, fixed so that x86 machines of different vector widths
compute the same bits.

Why: torch picks its vectorised CPU kernels (softmax, norms, reductions, elementwise ops) by the
widest instruction set the CPU has, and each width sums in another order. The committed
`dvc.lock` was made on an AVX2 machine (AMD EPYC); on an AVX-512 one (AMD EPYC, 2026-12-02) the
same code and params gave another pretrained model (final loss 2.9790 against 2.9888), and every
model after it differed: the SFT model's synthetic top-1 was 0.758 against the committed 0.842.
With `ATEN_CPU_CAPABILITY=avx2` the AVX-512 machine wrote the committed pretrained and SFT models,
reward-model data and SFT evaluation bit for bit; the reward models and RL runs still differed in
the last float digits, which moved synthetic top-1 by at most 1.2 points (README, "Offline and
reproducible"). MKL needed nothing on these two AMD CPUs: pretraining matched with
`ATEN_CPU_CAPABILITY` alone, and `MKL_CBWR` changed no result here. On Intel CPUs MKL picks its
kernels by width too, and `MKL_CBWR=AVX2` is MKL's own switch for results that do not depend on
the CPU (not measured: no Intel machine).

Cost: none. `python bench/cpu_kernels.py` (3 alternating pairs, 1 thread, 2026-12-02): the AVX-512
kernels took 1.04x the AVX2 time for 30 SFT-shaped training steps and 1.18x for a 16 x 8 rollout.

A dependency of every stage in dvc.yaml, like stage.py: editing the pinned values reruns the
DAG. The variables themselves DVC does not track (nor the thread count), so a run with other
kernels exported is not flagged as changed. A value the user exported wins (e.g.
`ATEN_CPU_CAPABILITY=avx512 MKL_CBWR=AUTO` for the machine's widest kernels, giving up equal bits
across machines). Set in `pipeline/__init__.py`, before any stage imports torch: torch reads the
variable once, at its first vectorised kernel.
"""

from __future__ import annotations

import os
import platform

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}
_X86 = ("x86_64", "amd64", "i386", "i686")


def pin_cpu_kernels(env: dict[str, str] | os._Environ = os.environ, machine: str | None = None) -> dict[str, str]:
    """Set the `PINNED` variables in `env` where it has none, on x86 only (other CPUs have other
    kernel families, and torch warns about an x86 value there). Returns what was set."""
    if (machine or platform.machine()).lower() not in _X86:
        return {}
    added = {k: v for k, v in PINNED.items() if k not in env}
    env.update(added)
    return added
