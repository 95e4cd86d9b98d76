"""LSH band buckets of MinHash signatures, split into hash partitions, and verified pairs.

Stage 2 of the sharded near-dedup (see ``data_selection.dedup``). Each signature worker writes
one key-sorted table per shard with a row per (page, band): the key is a 64-bit hash of the
band's ``rows`` signature values and the band number, so equal bands of the same band number
get equal keys. A bucket-partition worker reads the rows of its key range from every shard's
table, groups equal keys (pages sharing a band bucket), and keeps a candidate pair (i < j) only
when the two bands are really equal (a key collision is not a shared band) and the estimated
Jaccard of the full signatures reaches the banding threshold: the same test as looking page j
up in an LSH index holding page i. Pages with equal whole signatures (exact duplicates under
other URLs, common in crawls) are collapsed onto the first of them (``verified_pairs``). Pages
already dropped as URL duplicates are left out (they never enter the index). The rows go to
``pairs/<partition>.npy`` as ``[j, i, copy]``, sorted by j then i, ready for the greedy pass.

Memory per worker is its partition's share of the band rows (``bands`` rows of 16 bytes per
page over all partitions) plus the signatures of the pages in its candidate pairs.

Why not datasketch's ``MinHashLSH`` with the same (bands, rows): ``bench/data_lsh.py`` gives equal
decisions, but MinHashLSH was 6.0x slower on the default world and 8.9x on a 10x one (it keys and
looks up each band of each page in Python), and its index must hold the whole pool in one
process (5.6 KB per page with the sketches the verification needs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_selection.config import DedupConfig
from data_selection.shard_arrays import PageIndex, gather_rows, mix64, partition_rows, save_array, sort_keyed

_BAND_BITS = 16  # payload = local page index << 16 | band number
_VERIFY_CHUNK = 65_536  # pairs compared at once: 2 x 64Ki x 128 x 4 bytes = 64 MiB at most


def band_table(sigs: np.ndarray, cfg: DedupConfig) -> np.ndarray:
    """Key-sorted ``(pages * bands, 2)`` uint64 rows ``[band key, local << 16 | band]``."""
    n = len(sigs)
    keys = np.empty((cfg.bands, n), dtype=np.uint64)
    for band in range(cfg.bands):
        h = np.full(n, band, dtype=np.uint64)
        for col in range(band * cfg.rows, (band + 1) * cfg.rows):
            h = mix64(h ^ sigs[:, col].astype(np.uint64) ^ np.uint64(col << 32))
        keys[band] = h
    locals_ = np.arange(n, dtype=np.uint64)
    payload = (locals_[None, :] << np.uint64(_BAND_BITS)) | np.arange(cfg.bands, dtype=np.uint64)[:, None]
    return sort_keyed(keys.ravel(), payload.ravel())


def _group_pairs(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index pairs (a, b), a < b, of rows with equal ``groups`` (``groups`` sorted)."""
    n = len(groups)
    if n < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    sizes = np.diff(np.append(starts, n))
    firsts, seconds = [starts[sizes == 2]], [starts[sizes == 2] + 1]
    for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist()):
        a, b = np.triu_indices(size, 1)
        firsts.append(a + start)
        seconds.append(b + start)
    return np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)


def _runs_of(values: np.ndarray) -> np.ndarray:
    """Run number of each element of a sorted array (equal neighbours share a run)."""
    return np.cumsum(np.concatenate([[False], values[1:] != values[:-1]])) if len(values) else values


def verified_pairs(gids: np.ndarray, bands: np.ndarray, keys: np.ndarray, sig_of, cfg: DedupConfig) -> np.ndarray:
    """``[j, i, copy]`` rows (i < j, unique, sorted) for the band rows ``(keys, gids, bands)``.

    A bucket is the rows with one key and one band number. In a bucket, pages whose whole
    signatures are equal collapse onto the first of them: each later one gives a *copy* row
    ``[j, first, 1]`` and no other pair (its fate is its first copy's, see ``dedup``), which keeps
    a bucket of k exact duplicates at k rows instead of k^2/2 pairs. The remaining pages give a
    row ``[j, i, 0]`` per pair whose band really is equal (not a key collision) and whose
    estimated Jaccard reaches the threshold. ``sig_of(ids)`` returns the signatures of sorted ids.
    """
    order = np.lexsort((gids, bands, keys))
    gids, bands, keys = gids[order], bands[order], keys[order]
    bucket = _runs_of(keys) * (cfg.bands + 1) + bands  # distinct per (key, band) run, sorted
    bucket = _runs_of(bucket)
    shared = np.zeros(len(bucket), dtype=bool)
    if len(bucket) > 1:
        same_next = bucket[1:] == bucket[:-1]
        shared[1:] |= same_next
        shared[:-1] |= same_next
    gids, bands, bucket = gids[shared], bands[shared], bucket[shared]
    if not len(gids):
        return np.empty((0, 3), dtype=np.int64)
    ids = np.unique(gids)
    sigs = sig_of(ids)
    _, identity = np.unique(sigs, axis=0, return_inverse=True)  # equal signatures, equal identity
    ident = identity.reshape(-1)[np.searchsorted(ids, gids)]
    by_identity = np.lexsort((gids, ident, bucket))
    first = np.concatenate([[True], (bucket[by_identity][1:] != bucket[by_identity][:-1])
                            | (ident[by_identity][1:] != ident[by_identity][:-1])])
    rep_of = by_identity[np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))]
    copies = np.stack([gids[by_identity][~first], gids[rep_of][~first],
                       np.ones(int(np.count_nonzero(~first)), dtype=np.int64)], axis=1)
    reps = np.sort(by_identity[first])  # back in (bucket, gid) order
    a, b = _group_pairs(bucket[reps])
    a, b = reps[a], reps[b]
    ra, rb = np.searchsorted(ids, gids[a]), np.searchsorted(ids, gids[b])
    cols = bands[a][:, None] * cfg.rows + np.arange(cfg.rows)
    equal_band = np.all(sigs[ra[:, None], cols] == sigs[rb[:, None], cols], axis=1)
    pairs = np.unique(np.stack([gids[b], gids[a]], axis=1)[equal_band], axis=0)
    ra_hi, ra_lo = np.searchsorted(ids, pairs[:, 0]), np.searchsorted(ids, pairs[:, 1])
    keep = np.zeros(len(pairs), dtype=bool)
    for start in range(0, len(pairs), _VERIFY_CHUNK):
        end = start + _VERIFY_CHUNK
        same = np.count_nonzero(sigs[ra_hi[start:end]] == sigs[ra_lo[start:end]], axis=1)
        # The same float division as datasketch's MinHash.jaccard and jaccard_estimate.
        keep[start:end] = same / cfg.num_perm >= cfg.threshold
    verified = np.concatenate([pairs[keep], np.zeros((int(keep.sum()), 1), dtype=np.int64)], axis=1)
    return np.unique(np.concatenate([copies, verified]).astype(np.int64), axis=0)


def bucket_partition(part: int, n_parts: int, offsets: tuple[int, ...], cfg: DedupConfig, workdir: str) -> int:
    """Partition worker: verified pairs of the band keys in partition ``part``; returns their count."""
    index = PageIndex(offsets)
    status = np.memmap(Path(workdir) / "status.u8", dtype=np.uint8, mode="r") if index.total else None
    keys_, gids_, bands_ = [], [], []
    for shard, rows in partition_rows(workdir, "band", index.n_shards, part, n_parts):
        keys_.append(rows[:, 0])
        gids_.append((rows[:, 1] >> np.uint64(_BAND_BITS)).astype(np.int64) + offsets[shard])
        bands_.append((rows[:, 1] & np.uint64((1 << _BAND_BITS) - 1)).astype(np.int64))
    if keys_:
        keys, gids, bands = np.concatenate(keys_), np.concatenate(gids_), np.concatenate(bands_)
        in_index = status[gids] == 0  # URL duplicates never enter the index
        keys, gids, bands = keys[in_index], gids[in_index], bands[in_index]
        pairs = verified_pairs(gids, bands, keys, lambda ids: gather_rows(workdir, "sig", index, ids), cfg)
    else:
        pairs = np.empty((0, 3), dtype=np.int64)
    save_array(workdir, "pairs", part, pairs)
    return len(pairs)
