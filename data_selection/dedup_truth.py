"""Ground-truth scoring of the near-dedup, split by cluster: planted pairs caught, clusters found.

When pages carry ``dup_cluster`` (the synthetic web plants mirrored and re-crawled copies), every
planted pair is scored: a cluster's first page after URL dedup against each later member, with
its exact Jaccard of 64-bit shingle hashes. A pair is caught when the two pages were not both
kept; ``clusters_found`` counts clusters of two or more survivors of which exactly one was kept.

Sharded like the rest of the dedup: each signature worker writes, for its clustered pages only,
``truth/<shard>.npy`` (rows ``[hash of cluster id, local index]``, key-sorted) and their shingle
hashes (``shingle/<shard>.npy`` with per-page offsets in ``shingle_off/<shard>.npy``). The worker of
cluster partition ``p`` gathers its clusters' pages from every shard, reads the keep decisions
from the status file and returns counts; the driver only adds them up.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from data_selection.shard_arrays import PageIndex, load_array, mix64, partition_rows, save_array, sort_keyed

MIN_JACCARD = 0.8  # planted pairs at or above this exact Jaccard are the ones the catch rate is about
COUNTS = ("planted_pairs", "planted_pairs_caught", "planted_pairs_j80", "planted_pairs_j80_caught", "clusters_found")


def save_truth(workdir: str, shard: int, clusters: np.ndarray, shingle_sets: Sequence[np.ndarray]) -> None:
    """Write the shard's truth table and shingle hashes (``shingle_sets[i]`` empty when unclustered)."""
    labelled = np.flatnonzero(clusters >= 0)
    save_array(workdir, "truth", shard, sort_keyed(mix64(clusters[labelled].astype(np.uint64)),
                                                    labelled.astype(np.uint64)))
    lengths = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    save_array(workdir, "shingle_off", shard, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    flat = np.concatenate(list(shingle_sets)) if len(shingle_sets) else np.empty(0)
    save_array(workdir, "shingle", shard, flat.astype(np.uint64))


def exact_jaccard(x: np.ndarray, y: np.ndarray) -> float:
    inter = np.intersect1d(x, y, assume_unique=True).size
    return inter / (x.size + y.size - inter)


def truth_partition(part: int, n_parts: int, offsets: tuple[int, ...], workdir: str) -> Counter[str]:
    """Partition worker: the ground-truth counts of the clusters whose hash falls in ``part``."""
    index = PageIndex(offsets)
    status = np.memmap(Path(workdir) / "status.u8", dtype=np.uint8, mode="r")
    members: list[tuple[int, int, bool, np.ndarray]] = []  # (cluster, gid, kept, shingles)
    for shard, rows in partition_rows(workdir, "truth", index.n_shards, part, n_parts):
        if not len(rows):
            continue
        local = rows[:, 1].astype(np.int64)
        gids = local + offsets[shard]
        survived = status[gids] != 1  # URL duplicates are not part of the near-dedup's pairs
        clusters = np.asarray(load_array(workdir, "cluster", shard)[local])
        off = load_array(workdir, "shingle_off", shard)
        shingles = load_array(workdir, "shingle", shard)
        for loc, gid, cluster, ok in zip(local.tolist(), gids.tolist(), clusters.tolist(), survived.tolist()):
            if ok:
                members.append((cluster, gid, bool(status[gid] == 0), np.array(shingles[off[loc]:off[loc + 1]])))
    members.sort(key=lambda m: (m[0], m[1]))
    counts: Counter[str] = Counter({k: 0 for k in COUNTS})
    start = 0
    while start < len(members):
        end = start
        while end < len(members) and members[end][0] == members[start][0]:
            end += 1
        _score_cluster(members[start:end], counts)
        start = end
    return counts


def _score_cluster(group: list[tuple[int, int, bool, np.ndarray]], counts: Counter[str]) -> None:
    _, _, first_kept, first = group[0]
    for _, _, kept, other in group[1:]:
        hit = not (first_kept and kept)
        counts["planted_pairs"] += 1
        counts["planted_pairs_caught"] += hit
        if exact_jaccard(first, other) >= MIN_JACCARD:
            counts["planted_pairs_j80"] += 1
            counts["planted_pairs_j80_caught"] += hit
    counts["clusters_found"] += len(group) > 1 and sum(m[2] for m in group) == 1


def pair_metrics(counts: Counter[str]) -> dict:
    """The summed counts with the catch rate of the J >= 0.8 pairs (1.0 when there are none)."""
    out = {k: int(counts[k]) for k in COUNTS}
    hi = out["planted_pairs_j80"]
    out["catch_rate_j80"] = out["planted_pairs_j80_caught"] / hi if hi else 1.0
    return out
