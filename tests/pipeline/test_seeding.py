"""Stage seeding: a CPU stage runs torch in deterministic mode, so that reruns are bit-identical
(pipeline/stage.py, seed_everything)."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pipeline.stage import seed_everything


@pytest.mark.skipif(torch.cuda.is_available(), reason="deterministic mode is set on CPU machines only")
def test_cpu_stages_run_torch_in_deterministic_mode():
    before, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    try:
        torch.use_deterministic_algorithms(False)
        seed_everything(0, 2)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.get_num_threads() == 2
        first = torch.rand(3)
        seed_everything(0, 2)
        assert torch.equal(torch.rand(3), first)
    finally:
        torch.use_deterministic_algorithms(before)
        torch.set_num_threads(threads)


def test_data_stage_setup_never_imports_torch(tmp_path):
    """Data stages (`stage.setup(..., uses_torch=False)`) seed Python's generator only: torch's
    import and deterministic mode cost them most of their run time."""
    root = Path(__file__).resolve().parents[2]
    source = tmp_path / "gsm8k.jsonl"
    source.write_text(json.dumps({"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}) + "\n")
    probe = ("import runpy, sys\n"
             f"sys.argv = ['benchmarks', '--params', {str(root / 'params.yaml')!r}, '--name', 'gsm8k', '--source', "
             f"{str(source)!r}, '--out', {str(tmp_path / 'out.jsonl')!r}, '--metrics', {str(tmp_path / 'm.json')!r}]\n"
             "runpy.run_module('pipeline.benchmarks', run_name='__main__')\n"
             "import random; print('torch' in sys.modules, random.random())\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    imported, drawn = done.stdout.split()
    assert imported == "False"
    random.seed(0)  # params.yaml's seed
    assert float(drawn) == random.random()
    assert json.loads((tmp_path / "m.json").read_text())["records"] == 1
