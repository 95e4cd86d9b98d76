"""Stage seeding: a CPU stage runs torch in deterministic mode, so that reruns are bit-identical
(pipeline/stage.py, seed_everything)."""

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
