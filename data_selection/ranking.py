"""The per-round ranking of the pool and its top-N token cut, without the pool in one process.

The paper ranks every crawled page by the classifier's score and keeps the top of the ranking
up to a token budget (round 1: the top 40B tokens). Here the ranking key is (score descending,
URL, global page id) and the cut takes pages in that order while the token total stays within
the budget, stopping at the first page that does not fit (the first page is always taken).

Sharded: each scoring worker writes its shard's scores (``score_r<round>/<shard>.npy``) and a
*run*, its pages sorted by the ranking key (``run_r<round>/<shard>.jsonl``, one
``[score, url, local index, tokens]`` per line). The global ranking is the merge of the runs, and
a prefix of the ranking is a prefix of every run, so the cut is fully described by how many
pages it took from each run. The driver streams the merge (a few records per run in memory) and
keeps only those counts; workers then read their shard's collected pages as the first
``count`` lines of their run.
"""

from __future__ import annotations

import heapq
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from data_selection.shard_arrays import array_path, save_array

_BLOCK = 64  # run lines read at a time by the merge: memory is O(shards x block), not O(pages)

RankedPage = tuple[float, str, int, int, int]  # (-score, url, global id, tokens, run index)


def run_path(workdir: str | os.PathLike[str], round_no: int, shard: int) -> Path:
    return array_path(workdir, f"run_r{round_no}", shard).with_suffix(".jsonl")


def write_run(workdir: str | os.PathLike[str], round_no: int, shard: int, scores: np.ndarray,
              urls: Sequence[str], tokens: Sequence[int]) -> None:
    """Save the shard's scores and its run: its pages sorted by (-score, URL, local index)."""
    save_array(workdir, f"score_r{round_no}", shard, scores)
    order = sorted(range(len(urls)), key=lambda i: (-scores[i], urls[i], i))
    path = run_path(workdir, round_no, shard)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for i in order:
            fh.write(json.dumps([float(scores[i]), urls[i], i, int(tokens[i])], ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_run(path: str | os.PathLike[str], run: int, offset: int, block: int = _BLOCK) -> Iterator[RankedPage]:
    """The run's pages as ranking tuples, read ``block`` lines at a time (no file left open between)."""
    pos = 0
    while True:
        with open(path, "rb") as fh:
            fh.seek(pos)
            lines = [fh.readline() for _ in range(block)]
            pos = fh.tell()
        for line in lines:
            if not line:
                return
            s, url, local, tokens = json.loads(line)
            yield -s, url, offset + local, tokens, run


@dataclass(frozen=True)
class Cut:
    """How many pages the cut took from each run, and their totals."""

    counts: tuple[int, ...]
    pages: int
    tokens: int


def top_tokens_cut(runs: Sequence[Iterable[RankedPage]], budget: int) -> Cut:
    """Merge the sorted runs and take pages while the token total stays within ``budget``.

    The first page is always taken, so a budget below one page still collects something.
    """
    counts = [0] * len(runs)
    total = pages = 0
    for _, _, _, tokens, run in heapq.merge(*runs):
        if pages and total + tokens > budget:
            break
        counts[run] += 1
        pages += 1
        total += tokens
    return Cut(tuple(counts), pages, total)


def collected_locals(workdir: str | os.PathLike[str], round_no: int, shard: int, count: int) -> np.ndarray:
    """Local indices (sorted) of the shard's pages the round collected: the first ``count`` of its run."""
    out = np.empty(count, dtype=np.int64)
    if count:
        with open(run_path(workdir, round_no, shard), "rb") as fh:
            for k in range(count):
                out[k] = json.loads(fh.readline())[2]
    return np.sort(out)
