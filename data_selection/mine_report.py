"""Outputs of the mining rounds for people: the per-round metrics summary and a PNG of recall and
precision by round (DVC's HTML plots need a CDN; a PNG does not)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def summary(rounds: list[dict]) -> dict:
    """metrics/mine.json: the final round's figures at the top, every round nested by number."""
    final = rounds[-1]
    out = {"rounds_run": len(rounds), **{f"final_{k}": v for k, v in final.items() if k != "round"}}
    if "recall" in rounds[0]:
        out["round1_recall"] = rounds[0]["recall"]
        out["round1_precision"] = rounds[0]["precision"]
    out["by_round"] = {str(r["round"]): {k: v for k, v in r.items() if k != "round"} for r in rounds}
    return out


def plot_rounds(rounds: list[dict], path: str | os.PathLike[str]) -> None:
    """Recall and precision (overall and per math kind) against round, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["round"] for r in rounds]
    fig, ax = plt.subplots(figsize=(6, 4))
    if "recall" in rounds[0]:
        ax.plot(xs, [r["recall"] for r in rounds], "o-", lw=2, label="recall")
        ax.plot(xs, [r["precision"] for r in rounds], "s-", lw=2, label="precision")
        for key in sorted(k for k in rounds[0] if k.startswith("recall_")):
            ax.plot(xs, [r[key] for r in rounds], ":", label=key.replace("_", " "))
    ax.plot(xs, [r["overlap_prev"] for r in rounds], "--", color="grey", label="already collected")
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
