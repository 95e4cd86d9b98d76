"""Helpers of the scripts that rerun pipeline stages by hand on a copy of params.yaml
(`sweep_model_reward.py`, `seed_spread.py`): dotted overrides, a logged subprocess, the results
page written atomically with its hand-written notes kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scripts run as files; the project's packages sit at the root
from inputs.jsonl import write_text_atomic  # noqa: E402


def with_overrides(base: dict, overrides: dict) -> dict:
    """A copy of `base` with each dotted key (`grpo.model_reward.lr`) set; a key that params.yaml
    does not have is an error, so a typo cannot run the defaults under another name."""
    out = json.loads(json.dumps(base))
    for dotted, value in overrides.items():
        node = out
        *path, last = dotted.split(".")
        for key in path:
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"{dotted}: not a key of params.yaml")
            node = node[key]
        if not isinstance(node, dict) or last not in node:
            raise KeyError(f"{dotted}: not a key of params.yaml")
        node[last] = value
    return out


def run(cmd: list[str], log: Path, threads: int | None = None) -> None:
    """Run `cmd` from the repo root, its output to `log`; `threads` sets PIPELINE_THREADS
    (pipeline/stage.py) for runs that share the cores."""
    env = dict(os.environ)
    if threads is not None:
        env["PIPELINE_THREADS"] = str(threads)
    with log.open("w") as fh:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")


def write_with_notes(md: Path, generated: str) -> None:
    """Write a results page: `generated` (title, intro, tables), then the hand-written reading
    of the results (its first `## ` section onwards) kept from the page already there."""
    notes = md.read_text().partition("\n## ")[2] if md.is_file() else ""
    write_text_atomic(md, generated + (f"\n## {notes}" if notes else ""))
