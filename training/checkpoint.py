"""Resumable checkpoints: model, optimizer, RNG state and step, written atomically.

A checkpoint carries a fingerprint of the run's configuration; a checkpoint from a run with other
settings is ignored (and said so) rather than silently resumed. Batches are drawn from generators
seeded by (seed, step), so the step number is the whole data position.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

log = logging.getLogger(__name__)


class Checkpointer:
    """Saves to `<root>/state.pt`, or, for a model sharded over processes (FSDP, ZeRO-3), through
    `accelerate`'s save_state to `<root>/sharded/` with `<root>/sharded.json` (step, fingerprint);
    `every` = 0 disables saving (loading still works)."""

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

    def save_sharded(self, acc: Accelerator, step: int, extra: dict | None = None) -> None:
        """Every process writes its shards (model, optimizer, RNG) with accelerate's save_state;
        the main process then records step and fingerprint, last, so a kill mid-save leaves the
        previous record pointing at complete files or at none."""
        assert self.root is not None
        record = self.root / "sharded.json"
        if acc.is_main_process and record.exists():
            record.unlink()  # the folder is about to be overwritten
        acc.wait_for_everyone()
        acc.save_state(str(self.root / "sharded"))
        acc.wait_for_everyone()
        if acc.is_main_process:
            tmp = record.with_suffix(".tmp")
            tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "step": step, "extra": extra or {}}))
            os.replace(tmp, record)
        acc.wait_for_everyone()

    def load_sharded(self, acc: Accelerator) -> tuple[int, dict]:
        """Restore a sharded checkpoint into the prepared model and optimizer if it matches."""
        record = self.root / "sharded.json" if self.root else None
        if record is None or not record.is_file():
            return 0, {}
        state = json.loads(record.read_text())
        if state.get("fingerprint") != self.fingerprint:
            log.warning("ignoring checkpoint %s: it was written with other settings", record)
            return 0, {}
        acc.load_state(str(self.root / "sharded"))
        log.info("resuming from %s at step %d", record, state["step"])
        return int(state["step"]), state["extra"]

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
