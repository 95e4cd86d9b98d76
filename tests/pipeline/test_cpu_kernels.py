"""pipeline/cpu_kernels.py: every stage runs torch's AVX2 kernels on x86 unless the user chose
others, so machines with and without AVX-512 compute the same bits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cpu_kernels import PINNED, pin_cpu_kernels

ROOT = Path(__file__).resolve().parents[2]


def has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def test_the_kernel_variables_are_set_where_unset_on_x86_only():
    env: dict[str, str] = {"MKL_CBWR": "AUTO"}
    assert pin_cpu_kernels(env, machine="x86_64") == {"ATEN_CPU_CAPABILITY": "avx2"}
    assert env == {"MKL_CBWR": "AUTO", "ATEN_CPU_CAPABILITY": "avx2"}  # the user's MKL choice kept
    other: dict[str, str] = {}
    assert pin_cpu_kernels(other, machine="aarch64") == {} and other == {}
    assert pin_cpu_kernels({}, machine="AMD64") == PINNED


def capability(env: dict[str, str]) -> str:
    code = "import pipeline, torch; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not pin_cpu_kernels({}) or not has_avx2(),  # the module's own x86 test
                    reason="needs an x86 CPU with AVX2 (/proc/cpuinfo)")
def test_a_stage_process_runs_avx2_kernels_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items() if k not in PINNED and k != "PIPELINE_PRELOAD"}
    assert capability(env) == "AVX2"
    assert capability({**env, "ATEN_CPU_CAPABILITY": "default"}) == "DEFAULT"
