"""Outputs of the mining rounds for people: the per-round metrics summary and a PNG of recall and
precision by round (DVC's HTML plots need a CDN; a PNG does not). Both read the rounds table, a
polars frame with one row per round (``MiningResult.rounds``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl


def summary(rounds: pl.DataFrame) -> dict:
    """metrics/mine.json: the final round's figures at the top, every round nested by number."""
    if not rounds.height:
        raise ValueError("rounds: no round ran")
    out = {"rounds_run": rounds.height,
           **{f"final_{k}": v for k, v in rounds.drop("round").row(-1, named=True).items()}}
    if "recall" in rounds.columns:
        out["round1_recall"] = rounds["recall"][0]
        out["round1_precision"] = rounds["precision"][0]
    out["by_round"] = {str(r.pop("round")): r for r in rounds.to_dicts()}
    return out


def plot_rounds(rounds: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Recall and precision (overall and per math kind) against round, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = rounds["round"].to_list()
    fig, ax = plt.subplots(figsize=(6, 4))
    if "recall" in rounds.columns:
        ax.plot(xs, rounds["recall"].to_list(), "o-", lw=2, label="recall")
        ax.plot(xs, rounds["precision"].to_list(), "s-", lw=2, label="precision")
        for key in sorted(k for k in rounds.columns if k.startswith("recall_")):
            ax.plot(xs, rounds[key].to_list(), ":", label=key.replace("_", " "))
    ax.plot(xs, rounds["overlap_prev"].to_list(), "--", color="grey", label="already collected")
    ax.set_xlabel("round")
    ax.set_xticks(xs)
    ax.set_ylim(0, 1.02)
    ax.set_title("Math-page mining against ground truth")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, target)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
