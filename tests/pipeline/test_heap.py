"""A CPU stage keeps freed tensor memory for reuse (pipeline/stage.py, keep_heap): a block
freed and allocated again does not fault its pages back in."""

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A 24 MiB tensor, freed, then allocated and written again: the page faults of the second one.
# With glibc's defaults the first is mapped and returned at free; the second comes from a heap
# that grows for it (about 6,000 faults of 4 KiB pages). With keep_heap both come from the heap
# and the second reuses the first's pages.
PROBE = """
import resource, sys, torch
from pipeline.stage import keep_heap
if sys.argv[1] == 'keep':
    assert keep_heap()
n = 6 << 20
torch.ones(n)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
x = torch.ones(n)
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
def test_kept_heap_reuses_freed_tensor_pages():
    default, kept = faults("default"), faults("keep")
    assert default > 3000  # 24 MiB of fresh 4 KiB pages
    assert kept < default / 10
