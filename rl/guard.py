"""A drift guard for RL against a trained reward model: stop when the reward model stops agreeing
with the rule grader, and keep the last policy from before the drift.

A policy optimised against a learned reward finds outputs the reward model over-scores (reward
hacking); the rule grader's verdict on the same samples is the ground truth the reward model
was meant to approximate, so the share of samples where both agree (reward > 0.5 vs correct)
falls as hacking sets in. The paper's iterative RL retrains the reward model to counter this
drift; the guard is the blunt version that every model-reward run gets: the mean agreement over
the last `window` steps is checked after every step, the policy is snapshotted every `window`
steps, and when the mean falls below `threshold` the run stops and the policy goes back to the
last snapshot taken before the failing window began.

Snapshots live in memory (at most two copies of the weights on their device; sharded weights stay sharded)
and do not survive a restart: a resumed run's first snapshot is the state it resumed from.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch


@dataclass
class AgreementGuard:
    threshold: float  # 0 disables the guard
    window: int
    seen: deque = field(default_factory=deque)
    snapshots: deque = field(default_factory=lambda: deque(maxlen=2))  # (step, state dict), newest last
    stopped_at: int | None = None  # step (1-based, completed) at which drift was detected
    restored_step: int | None = None  # step count of the policy that was kept
    offset: int = 0  # added to the loop's step numbers (iterative RL runs one loop per iteration)

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    def start(self, model: torch.nn.Module, step: int) -> None:
        """The state a run starts (or resumes) from is its first good policy."""
        if self.enabled and not self.snapshots:
            self.snapshots.append((step + self.offset, _copy(model)))

    def check(self, step: int, agreement: float) -> bool:
        """Record the agreement of step `step` (1-based); True when the window mean is below the
        threshold, i.e. the run must stop."""
        if not self.enabled:
            return False
        step += self.offset
        self.seen.append(agreement)
        if len(self.seen) > self.window:
            self.seen.popleft()
        if len(self.seen) == self.window and sum(self.seen) / self.window < self.threshold:
            self.stopped_at = step
            return True
        return False

    def after_update(self, model: torch.nn.Module, step: int) -> None:
        """Snapshot the policy every `window` completed steps."""
        if self.enabled and (step + self.offset) % self.window == 0:
            self.snapshots.append((step + self.offset, _copy(model)))

    def restore(self, model: torch.nn.Module) -> int:
        """Load the newest snapshot taken before the failing window began; returns its step."""
        assert self.stopped_at is not None, "restore() only after check() reported drift"
        first_bad = self.stopped_at - self.window + 1
        good = [(s, state) for s, state in self.snapshots if s < first_bad] or list(self.snapshots)[:1]
        step, state = good[-1]
        model.load_state_dict(state)
        self.restored_step = step
        return step

    def summary(self) -> dict:
        """What the stage's metrics say about the guard."""
        if self.stopped_at is None:
            return {"stopped_early": False}
        return {"stopped_early": True, "stop_step": self.stopped_at, "kept_step": self.restored_step,
                "stop_reason": f"RM-rule agreement below {self.threshold} (mean of {self.window} steps)"}


def _copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
