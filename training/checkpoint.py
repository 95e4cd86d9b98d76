"""Resumable checkpoints: model, optimizer, RNG state and step, written atomically.

A checkpoint carries a fingerprint of the run's configuration; a checkpoint from a run with other
settings is ignored (and said so) rather than silently resumed. Batches are drawn from generators
seeded by (seed, step), so the step number is the whole data position.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


class Checkpointer:
    """Saves to `<root>/state.pt`; `every` = 0 disables saving (loading still works)."""

    def __init__(self, root: str | Path | None, every: int, fingerprint: str) -> None:
        self.root = Path(root) if root else None
        self.every = every
        self.fingerprint = fingerprint

    def due(self, step: int) -> bool:
        """True after `step` completed steps when a checkpoint should be written."""
        return self.root is not None and self.every > 0 and step % self.every == 0

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, extra: dict | None = None) -> None:
        assert self.root is not None
        state = {
            "fingerprint": self.fingerprint,
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(),
            "extra": extra or {},
        }
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "state.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.root / "state.pt")

    def load(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
        """Restore the last checkpoint if it matches; returns (completed steps, extra)."""
        path = self.root / "state.pt" if self.root else None
        if path is None or not path.is_file():
            return 0, {}
        state = torch.load(path, weights_only=False)
        if state.get("fingerprint") != self.fingerprint:
            log.warning("ignoring checkpoint %s: it was written with other settings", path)
            return 0, {}
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])
        np.random.set_state(state["numpy_rng"])
        log.info("resuming from %s at step %d", path, state["step"])
        return int(state["step"]), state["extra"]

    def clear(self) -> None:
        """Remove checkpoints once the final model is saved: they are not a pipeline output."""
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root)
