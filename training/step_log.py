"""Per-step training logs through DVCLive, so `dvc plots` and `dvc exp show` see them.

DVCLive is opened with `save_dvc_exp=False` and `dvcyaml=False`: the pipeline's own dvc.yaml
declares the plots, and `dvc exp run` (not DVCLive) owns experiments.

Every logged scalar gets its per-step history (`<dir>/plots/metrics/<name>.tsv`), but DVCLive's
summary (`<dir>/metrics.json`, a metric of dvc.yaml and so a column group of `dvc exp show`)
keeps only the `summary` names the stage passes, e.g. loss, reward, accuracy and KL, rounded as
the stages round their metrics: a dozen last values per stage would bury the table.
"""

from __future__ import annotations

import logging
from pathlib import Path

from accelerate import PartialState

from inputs.jsonl import rounded

log = logging.getLogger(__name__)


class StepLogger:
    """Logs a dict of scalars every `every` steps (and always at the last step)."""

    def __init__(self, directory: str | Path | None, every: int, total: int, resume: bool = False,
                 summary: tuple[str, ...] | None = None) -> None:
        self.every, self.total = every, total
        self.summary = summary  # names kept in DVCLive's metrics.json (None: every name logged)
        self.offset = 0  # added to logged steps, so consecutive loops (RL iterations) share one axis
        self.live = None
        # Under `accelerate launch` only the main process logs; the others would race on the files.
        if directory is not None and PartialState().is_main_process:
            from dvclive import Live  # imported here: library users without DVC still train

            self.live = Live(str(directory), resume=resume, save_dvc_exp=False, dvcyaml=False)

    def wants(self, step: int) -> bool:
        """`step` counts completed steps (1-based)."""
        return step % self.every == 0 or step == self.total

    def log(self, step: int, values: dict[str, float], force: bool = False) -> None:
        """Log `values` at `step` when it is due (or when `force`, e.g. the step a run stops at)."""
        if not (force or self.wants(step)):
            return
        where = f"{step}/{self.total}" if not self.offset else f"{step}/{self.total} (+{self.offset})"
        step += self.offset
        log.info("step %s %s", where, " ".join(f"{k}={v:.4g}" for k, v in values.items()))
        if self.live is None:
            return
        self.live.step = step
        for key, value in values.items():
            self.live.log_metric(key, float(value))
        if self.summary is not None:
            # next_step() writes the summary; DVCLive adds "step" itself.
            self.live.summary = {k: rounded(v) for k, v in self.live.summary.items() if k in self.summary}
        self.live.next_step()

    def close(self) -> None:
        if self.live is not None:
            self.live.end()
