"""A CPU stage keeps freed memory in glibc's heap (pipeline/stage.py, keep_heap, called by
seed_everything): blocks freed at the end of a step are reused by the next step without page
faults, where glibc's defaults hand them back to the kernel and fault them in again."""

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

# A "step" allocates and touches 8 blocks of 8 MiB (as a training step's activations), then frees
# them all. With glibc's defaults the blocks come from the heap once the first mapped ones are
# freed, but the freed top (64 MiB) exceeds the trim threshold (twice the largest freed block),
# so it is handed back and every step faults 16,384 pages in again. Steps 3 to 7 are counted.
# Plain malloc through ctypes: nothing else allocates between the blocks, so the count does not
# depend on where small objects land.
PROBE = """
import ctypes, resource, sys
from pipeline.stage import seed_everything
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == 'stage':
    seed_everything(0, 1)
size = 8 << 20
def step():
    blocks = [libc.malloc(size) for _ in range(8)]
    for b in blocks:
        ctypes.memset(b, 1, size)
    for b in blocks:
        libc.free(b)
for _ in range(2):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def huge_pages_always() -> bool:
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return thp.exists() and "[always]" in thp.read_text()


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(ctypes.util.find_library("c") is None or not sys.platform.startswith("linux"),
                    reason="glibc's mallopt only")
@pytest.mark.skipif(huge_pages_always(), reason="transparent huge pages on every mapping: too few faults to count")
@pytest.mark.skipif(torch.cuda.is_available(), reason="the heap is kept on CPU machines only")
def test_stage_setup_keeps_freed_blocks_for_the_next_step():
    default, kept = faults("default"), faults("stage")
    assert default > 5 * 16_000  # each of the 5 steps faults its 64 MiB of 4 KiB pages in again
    assert kept < 1_000
