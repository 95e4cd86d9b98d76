"""Byte-range shards of a JSONL file: the unit of work the executors hand to workers.

A shard is (path, start, end) with both offsets on line boundaries, so a worker streams exactly
its lines without reading the rest of the file, and shard results concatenated in shard order
give the same sequence as one pass over the file. Nothing here holds the pool in memory.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from inputs.jsonl import parse_record


@dataclass(frozen=True)
class Shard:
    """Lines of ``path`` whose first byte lies in [start, end)."""

    path: str
    start: int
    end: int


def plan_shards(path: str | os.PathLike[str], shard_bytes: int) -> list[Shard]:
    """Cut ``path`` into shards of about ``shard_bytes`` bytes, each ending after a newline."""
    if shard_bytes < 1:
        raise ValueError(f"shard_bytes: must be >= 1, got {shard_bytes}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"JSONL input not found: {p}")
    size = p.stat().st_size
    shards: list[Shard] = []
    start = 0
    with p.open("rb") as fh:
        while start < size:
            fh.seek(min(start + shard_bytes, size))
            if fh.tell() < size:
                fh.readline()  # move to the end of the line the cut fell in
            end = fh.tell()
            shards.append(Shard(str(p), start, end))
            start = end
    return shards


def iter_shard(shard: Shard, skipped: Counter[str]) -> Iterator[dict]:
    """JSON objects of the shard's lines; malformed lines are counted in ``skipped``, not raised."""
    with open(shard.path, "rb") as fh:
        fh.seek(shard.start)
        pos = shard.start
        while pos < shard.end:
            raw = fh.readline()
            if not raw:
                break
            pos += len(raw)
            obj = parse_record(raw, skipped)
            if obj is not None:
                yield obj


def iter_shards(shards: list[Shard], skipped: Counter[str]) -> Iterator[dict]:
    """All records of ``shards`` in order (a streaming pass in the driver)."""
    for shard in shards:
        yield from iter_shard(shard, skipped)
