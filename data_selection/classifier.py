"""fastText math classifier: a thin, deterministic wrapper over ``fasttext.train_supervised``.

As in the paper (section 2.1) positives are seed-corpus pages and negatives random crawl pages,
with dim 256, lr 0.1, wordNgrams 3, minCount 3, epoch 3 from ``MineConfig``. Departures: the
hash ``bucket`` count is far below fastText's 2M (a 2M x 256 float matrix is 2 GB and pointless
for a small corpus), and training runs on ``threads`` threads (1 by default) with a fixed seed,
so the same inputs give the same model. Text is lower-cased with newlines turned into spaces,
the same way for training and scoring (fastText's ``predict`` rejects newlines).

Determinism workaround: fastText initialises its input matrix in ten blocks, one per thread
(facebookresearch/fastText#1061), so with fewer than 10 threads most rows keep whatever the
allocator returned. Upstream's storage is zeroed, but the fasttext-numpy2 build leaves it
uninitialised: on a reused heap the model changes from call to call and can hit "Encountered
NaN". Training therefore runs with glibc's malloc perturbation set so new allocations are
zero-filled (as upstream), then restored. Without glibc this is a no-op; a ``bucket`` large
enough that the matrix exceeds glibc's mmap threshold (32 MiB at most) is zeroed by the kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import random
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import fasttext
import numpy as np

from data_selection.config import MineConfig

if TYPE_CHECKING:
    from data_selection.shards import Shard

MATH_LABEL = "__label__math"
OTHER_LABEL = "__label__other"
_M_PERTURB = -6  # glibc mallopt parameter: fill malloc'd bytes with (byte ^ 0xFF)


@contextlib.contextmanager
def _zero_filled_mallocs() -> Iterator[None]:
    """While active, glibc malloc returns zero-filled memory (see the module docstring)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        yield  # not glibc: nothing to set
        return
    enabled = mallopt(_M_PERTURB, 0xFF) == 1
    try:
        yield
    finally:
        if enabled:
            mallopt(_M_PERTURB, 0)


def clean_text(text: str) -> str:
    """One lower-cased line: the form used both for training lines and for prediction."""
    return " ".join(text.lower().split())


def train_classifier(positives: Sequence[str], negatives: Sequence[str], cfg: MineConfig,
                     seed: int, workdir: Path) -> Any:
    """Train a fastText model on labelled lines; return the ``fasttext`` model object.

    The training file is written under ``workdir`` (created if missing) in a seeded shuffled
    order, because fastText reads the file sequentially and one block per label would bias the
    last updates toward one class; it is deleted after training.
    """
    if not positives or not negatives:
        raise ValueError(f"positives/negatives: both must be non-empty, got {len(positives)} and {len(negatives)}")
    lines = [f"{MATH_LABEL} {clean_text(t)}" for t in positives]
    lines += [f"{OTHER_LABEL} {clean_text(t)}" for t in negatives]
    random.Random(seed).shuffle(lines)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    train_path = workdir / f"fasttext_train_{seed}.txt"
    train_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        with _zero_filled_mallocs():
            model = fasttext.train_supervised(
                input=str(train_path), dim=cfg.dim, lr=cfg.lr, wordNgrams=cfg.word_ngrams,
                minCount=cfg.min_count, epoch=cfg.epoch, bucket=cfg.bucket, thread=cfg.threads,
                seed=seed, verbose=0,
            )
    except RuntimeError as err:  # fastText reports divergence as a bare "Encountered NaN."
        raise RuntimeError(f"fastText training failed ({err}); lower lr or epoch, or vary the data") from err
    finally:
        os.unlink(train_path)
    return model


def score(model: Any, texts: Sequence[str], batch_size: int = 4096) -> np.ndarray:
    """P(math) for each text, as a float64 array aligned with ``texts``."""
    out = np.zeros(len(texts), dtype=np.float64)
    for start in range(0, len(texts), batch_size):
        batch = [clean_text(t) for t in texts[start:start + batch_size]]
        labels, probs = model.predict(batch, k=2)
        for offset, (labs, prob) in enumerate(zip(labels, probs)):
            # fastText's softmax gives both labels; take the math one (absent only if the
            # model never saw it, in which case P(math) is 0).
            out[start + offset] = next((float(p) for lab, p in zip(labs, prob) if lab == MATH_LABEL), 0.0)
    # fastText adds 1e-5 inside its softmax output, so P can exceed 1 by a hair.
    return np.clip(out, 0.0, 1.0)


_MODEL_CACHE: dict[str, Any] = {}  # per worker process: a model file is loaded once, not per shard


def load_model(path: str) -> Any:
    """The fastText model saved at ``path``, cached in this process (files are never rewritten)."""
    if path not in _MODEL_CACHE:
        _MODEL_CACHE.clear()  # one round's model at a time: bounded memory in long-lived workers
        _MODEL_CACHE[path] = fasttext.load_model(path)
    return _MODEL_CACHE[path]


def score_shard(shard: "Shard", model_path: str) -> np.ndarray:
    """Shard function: P(math) of each valid page of ``shard`` (pages without text are skipped)."""
    from data_selection.shards import iter_shard  # local: keeps this module importable alone

    texts = [p["text"] for p in iter_shard(shard, Counter())
             if isinstance(p.get("text"), str) and isinstance(p.get("url"), str)]
    return score(load_model(model_path), texts)
