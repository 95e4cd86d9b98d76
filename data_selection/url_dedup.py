"""Exact-URL dedup split by URL-hash range: each partition worker decides its own URLs.

Stage 1b of the sharded dedup (see ``data_selection.dedup``). Each signature worker writes one
key-sorted table per shard, ``url/<shard>.npy``, with a row ``[xxh3-64 of the normalised URL,
local page index]`` per valid page. The worker of partition ``p`` reads the rows of its hash
range from every shard, and within each URL keeps the page with the smallest global id (the
first in input order) and drops the rest; the dropped ids go to ``url_drop/<p>.npy``, sorted.
A URL's pages all hash to one partition, so the partitions decide independently. Two different
URLs share a 64-bit key by chance only after about 4e9 pages.
"""

from __future__ import annotations

import numpy as np

from data_selection.shard_arrays import PageIndex, partition_rows, save_array, sort_keyed


def url_table(url_keys: np.ndarray) -> np.ndarray:
    """Key-sorted ``(pages, 2)`` uint64 rows ``[URL key, local index]``."""
    return sort_keyed(url_keys, np.arange(len(url_keys), dtype=np.uint64))


def url_partition(part: int, n_parts: int, offsets: tuple[int, ...], workdir: str) -> int:
    """Partition worker: global ids of the later pages of each URL in partition ``part``; their count."""
    index = PageIndex(offsets)
    keys_, gids_ = [], []
    for shard, rows in partition_rows(workdir, "url", index.n_shards, part, n_parts):
        keys_.append(rows[:, 0])
        gids_.append(rows[:, 1].astype(np.int64) + offsets[shard])
    dropped = np.empty(0, dtype=np.int64)
    if keys_:
        keys, gids = np.concatenate(keys_), np.concatenate(gids_)
        order = np.lexsort((gids, keys))
        keys, gids = keys[order], gids[order]
        later = np.concatenate([[False], keys[1:] == keys[:-1]])  # not the first page of its URL
        dropped = np.sort(gids[later])
    save_array(workdir, "url_drop", part, dropped)
    return len(dropped)
