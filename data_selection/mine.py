"""One round of math-page mining: train the fastText classifier, score the pool, keep the top.

Follows the paper's round-1 recall step (section 2.1): positives are seed-corpus pages (the
paper's 500K OpenWebMath pages), negatives are random pool pages (random Common Crawl, which may
itself hold math: it is not filtered out, as in the paper), every pool page is scored and the
ranking is cut. Departures: the cut is ``top_n`` pages instead of the top 40B tokens, and there
is a single round here (domain discovery and seed growth across rounds come later). Ranking ties
are broken by URL so the output does not depend on the pool's order among equal scores.
The metrics compare the kept set with the generator's ground truth (``is_math``, ``kind``).

Scale note: with a few thousand training lines the paper's epoch 3 leaves fastText under-trained
(scores within about 1e-3 of 0.5) yet the ranking is clean; about 10 epochs spread the scores
with the same ranking, while 20 or more memorise the math pages sampled as negatives and lower
precision. Keep n_positives close to n_negatives: at epoch 3 a 2:1 imbalance ranked prose
above Q&A and word problems in our runs.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from data_selection.classifier import score, train_classifier
from data_selection.config import MineConfig


def _sample(pages: list[dict], n: int, rng: random.Random) -> list[dict]:
    # Sample indices, then sort them, so the chosen set depends only on the seed and sizes.
    return [pages[i] for i in sorted(rng.sample(range(len(pages)), min(n, len(pages))))]


def _ranking(pool: list[dict], scores: np.ndarray) -> list[int]:
    return sorted(range(len(pool)), key=lambda i: (-scores[i], pool[i]["url"], i))


def _metrics(pool: list[dict], scores: np.ndarray, kept_idx: list[int]) -> dict:
    is_math = np.array([bool(p["is_math"]) for p in pool], dtype=bool)
    kept_mask = np.zeros(len(pool), dtype=bool)
    kept_mask[kept_idx] = True
    n_math = int(is_math.sum())
    hits = int((kept_mask & is_math).sum())
    metrics: dict = {
        "n_pool": len(pool),
        "n_pool_math": n_math,
        "n_kept": len(kept_idx),
        "precision": hits / len(kept_idx) if kept_idx else 0.0,
        "recall": hits / n_math if n_math else 0.0,
        "mean_score_math": float(scores[is_math].mean()) if n_math else 0.0,
        "mean_score_other": float(scores[~is_math].mean()) if n_math < len(pool) else 0.0,
        "score_threshold": float(scores[kept_idx[-1]]) if kept_idx else 1.0,
    }
    for kind in sorted({p["kind"] for p in pool if p["is_math"]}):
        of_kind = np.array([p["kind"] == kind for p in pool], dtype=bool) & is_math
        metrics[f"recall_{kind}"] = float((kept_mask & of_kind).sum() / of_kind.sum())
    return metrics


def mine(pool: list[dict], seed_pages: list[dict], cfg: MineConfig, seed: int,
         workdir: Path) -> tuple[list[dict], dict]:
    """Return (kept pages ranked by score, each a new dict with a ``score`` field; metrics).

    Positives: a seeded sample of ``n_positives`` seed pages (all if fewer). Negatives: a seeded
    sample of ``n_negatives`` pool pages (all if fewer). ``workdir`` holds the temporary
    fastText training file.
    """
    if not pool:
        raise ValueError("pool: no pages to mine")
    if not seed_pages:
        raise ValueError("seed_pages: no seed pages to train on")
    rng = random.Random(seed)
    positives = _sample(seed_pages, cfg.n_positives, rng)
    negatives = _sample(pool, cfg.n_negatives, rng)
    model = train_classifier([p["text"] for p in positives], [p["text"] for p in negatives],
                             cfg, seed, workdir)
    scores = score(model, [p["text"] for p in pool])
    kept_idx = _ranking(pool, scores)[:cfg.top_n]
    kept = [{**pool[i], "score": float(scores[i])} for i in kept_idx]
    metrics = _metrics(pool, scores, kept_idx)
    metrics["n_positives"] = len(positives)
    metrics["n_negatives"] = len(negatives)
    # Negatives are random pool pages, so some are math: the label noise the paper accepts.
    metrics["n_negatives_math"] = sum(1 for p in negatives if p["is_math"])
    return kept, metrics
