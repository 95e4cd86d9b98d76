"""How far a training run's headline figures move with its seed (`scripts/seed_spread.py`).

The evaluation's standard error (`evaluation/findings.py`) is the test set's noise for one fixed
model. A GRPO run is itself one draw: its seed picks the questions of every step and the samples
drawn for them, so a rerun with another seed trains another policy. The reference run's gain over
SFT is one value of that distribution; this module summarises several seeds' headline figures
(mean, sample standard deviation, range) next to the evaluation's 2 SE, so a reader sees which of
the two noises a finding sits in.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from evaluation.findings import two_se


@dataclass(frozen=True)
class Spread:
    n: int
    mean: float
    sd: float  # sample standard deviation (n - 1); nan for a single value
    lo: float
    hi: float


def spread(values: list[float]) -> Spread:
    """Mean, sample standard deviation and range of one figure over seeds."""
    if not values:
        raise ValueError("spread: no values (no seed finished)")
    sd = statistics.stdev(values) if len(values) > 1 else math.nan
    return Spread(len(values), statistics.fmean(values), sd, min(values), max(values))


def headline_keys(metrics: dict) -> list[str]:
    """top1, maj@K and pass@K at the largest K, sample_acc: the figures `dvc exp show` carries."""
    ks = sorted(int(k.split("@")[1]) for k in metrics if k.startswith("pass@"))
    if not ks:
        raise ValueError("spread: metrics without pass@K")
    return ["top1", f"maj@{ks[-1]}", f"pass@{ks[-1]}", "sample_acc"]


def markdown(method: str, runs: dict[int, dict], sft: dict, reference_seed: int | None) -> str:
    """A table of one method's runs by seed (percentages), then mean ± sd, range and the mean gain
    over SFT, with the evaluation's 2 SE of a difference at the mean for comparison."""
    keys = headline_keys(sft)
    n = sft["n_problems"]
    head = "| seed | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys) + "\n"
    rows = [f"| SFT | " + " | ".join(f"{100 * sft[k]:.1f}" for k in keys) + " |"]
    for seed in sorted(runs):
        tag = f"{seed} (reference)" if seed == reference_seed else str(seed)
        rows.append(f"| {tag} | " + " | ".join(f"{100 * runs[seed][k]:.1f}" for k in keys) + " |")
    stats = {k: spread([r[k] for r in runs.values()]) for k in keys}
    rows.append("| mean ± sd | " + " | ".join(f"{100 * s.mean:.1f} ± {100 * s.sd:.1f}" for s in stats.values()) + " |")
    rows.append("| range | " + " | ".join(f"{100 * s.lo:.1f} to {100 * s.hi:.1f}" for s in stats.values()) + " |")
    rows.append("| mean - SFT | " + " | ".join(f"{100 * (s.mean - sft[k]):+.1f}" for k, s in stats.items()) + " |")
    rows.append("| 2 SE of a difference | " + " | ".join(
        f"{100 * two_se(s.mean, sft[k], n):.1f}" for k, s in stats.items()) + " |")
    return f"### {method}\n\n" + head + "\n".join(rows) + "\n"
