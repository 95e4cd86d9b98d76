"""Per-shard numpy arrays in a stage's work directory, addressed by global page id.

The sharded stages keep per-page state on disk instead of in the driver: each shard worker
writes its own ``<kind>/<shard>.npy`` files, and later passes read only the rows they need
(memory-mapped, so a read touches the pages it uses, not the file). Global page ids number the
valid pages of all shards in input order: shard ``s`` holds ids ``offsets[s] .. offsets[s+1]-1``.

Hash-partitioned tables are ``(rows, 2)`` uint64 arrays sorted by their first column (a 64-bit
key), so the rows of partition ``p`` of ``P`` (keys in ``[p * 2^64 / P, (p+1) * 2^64 / P)``)
are one contiguous slice found by binary search: a partition worker reads its slice of every
shard's table and nothing else. This is how DataTrove's multi-stage MinHash splits its buckets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from inputs.jsonl import atomic_open

KEY_SPACE = 1 << 64


def array_path(workdir: str | os.PathLike[str], kind: str, index: int) -> Path:
    return Path(workdir) / kind / f"{index:06d}.npy"


def save_array(workdir: str | os.PathLike[str], kind: str, index: int, array: np.ndarray) -> None:
    """Write ``array`` atomically (a retried task never leaves half a file for the next pass)."""
    path = array_path(workdir, kind, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    os.replace(tmp, path)


def load_array(workdir: str | os.PathLike[str], kind: str, index: int) -> np.ndarray:
    """The array memory-mapped read-only (rows are read when touched)."""
    return np.load(array_path(workdir, kind, index), mmap_mode="r", allow_pickle=False)


@dataclass(frozen=True)
class PageIndex:
    """Where each shard's valid pages start in the global numbering (``len(shards) + 1`` ints)."""

    offsets: tuple[int, ...]

    @classmethod
    def from_counts(cls, counts: list[int]) -> "PageIndex":
        return cls(tuple(int(x) for x in np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])))

    @property
    def total(self) -> int:
        return self.offsets[-1]

    @property
    def n_shards(self) -> int:
        return len(self.offsets) - 1

    def shard_of(self, gids: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.offsets, dtype=np.int64), gids, side="right") - 1


def gather_rows(workdir: str | os.PathLike[str], kind: str, index: PageIndex, gids: np.ndarray) -> np.ndarray:
    """Rows of the per-shard arrays ``kind`` for the global ids ``gids`` (any order), as a copy."""
    gids = np.asarray(gids, dtype=np.int64)
    shard = index.shard_of(gids)
    out: np.ndarray | None = None
    for s in np.unique(shard).tolist():
        sel = np.flatnonzero(shard == s)
        rows = load_array(workdir, kind, s)[gids[sel] - index.offsets[s]]
        if out is None:
            out = np.empty((len(gids),) + rows.shape[1:], dtype=rows.dtype)
        out[sel] = rows
    if out is None:
        raise ValueError(f"gather_rows: no ids to gather from {kind}")
    return out


def partition_bounds(part: int, n_parts: int) -> tuple[int, int]:
    """Key range ``[lo, hi)`` of hash partition ``part`` of ``n_parts`` (hi may be 2^64)."""
    return part * KEY_SPACE // n_parts, (part + 1) * KEY_SPACE // n_parts


def key_slice(table: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Rows of a key-sorted ``(rows, 2)`` uint64 table whose key is in ``[lo, hi)``, as a copy."""
    keys = table[:, 0]
    start = int(np.searchsorted(keys, np.uint64(lo), side="left"))
    stop = len(keys) if hi >= KEY_SPACE else int(np.searchsorted(keys, np.uint64(hi), side="left"))
    return np.array(table[start:stop])


def partition_rows(workdir: str | os.PathLike[str], kind: str, n_shards: int, part: int,
                   n_parts: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(shard, rows)`` for every shard's slice of partition ``part`` of the keyed table ``kind``."""
    lo, hi = partition_bounds(part, n_parts)
    for s in range(n_shards):
        path = array_path(workdir, kind, s)
        if path.exists():
            yield s, key_slice(load_array(workdir, kind, s), lo, hi)


def sort_keyed(keys: np.ndarray, payload: np.ndarray) -> np.ndarray:
    """A ``(rows, 2)`` uint64 table sorted by key, then payload."""
    table = np.empty((len(keys), 2), dtype=np.uint64)
    table[:, 0] = keys
    table[:, 1] = payload
    return table[np.lexsort((table[:, 1], table[:, 0]))]


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over uint64 values: spreads keys (e.g. small cluster ids) over 2^64."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def concat_atomic(parts: list[Path], target: str | os.PathLike[str]) -> None:
    """Concatenate per-shard part files into ``target`` atomically (temp file beside it, fsync, rename)."""
    import shutil

    with atomic_open(target, "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dst)
