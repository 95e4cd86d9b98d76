"""Band buckets, verified pairs, URL partitions and the on-disk shard arrays, on hand-made cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_selection.config import DedupConfig
from data_selection.lsh_buckets import band_table, verified_pairs
from data_selection.shard_arrays import (
    KEY_SPACE,
    PageIndex,
    gather_rows,
    key_slice,
    load_array,
    partition_bounds,
    save_array,
    sort_keyed,
)
from data_selection.url_dedup import url_partition, url_table

CFG = DedupConfig(shingle_size=5, num_perm=8, bands=2, rows=4)  # threshold (1/2)^(1/4) = 0.841

BASE = np.arange(10, 18, dtype=np.uint32)


def _with(changes: dict[int, int]) -> np.ndarray:
    sig = BASE.copy()
    for col, value in changes.items():
        sig[col] = value
    return sig


def test_equal_bands_get_equal_keys_per_band_number() -> None:
    sigs = np.stack([BASE, _with({5: 99}), _with({0: 99})])
    table = band_table(sigs, CFG)
    assert table.shape == (6, 2) and np.all(np.diff(table[:, 0].astype(np.float64)) >= 0)
    key = {(int(p) >> 16, int(p) & 0xFFFF): int(k) for k, p in table}
    assert key[(0, 0)] == key[(1, 0)] != key[(2, 0)]  # pages 0 and 1 share band 0
    assert key[(0, 1)] == key[(2, 1)] != key[(1, 1)]  # pages 0 and 2 share band 1
    same_values = np.stack([np.tile(BASE[:4], 2)])  # band 0 and band 1 hold the same numbers
    k = band_table(same_values, CFG)[:, 0]
    assert k[0] != k[1]  # the band number is part of the key


def test_verified_pairs_need_a_really_shared_band_and_the_threshold() -> None:
    sigs = {0: BASE, 1: _with({5: 99}), 2: _with({5: 99, 6: 98}), 3: _with({0: 1, 1: 2, 2: 3})}
    # Band-0 rows of pages 0-3 all given one key, as if page 3's key collided.
    gids = np.array([0, 1, 2, 3])
    bands = np.zeros(4, dtype=np.int64)
    keys = np.full(4, 42, dtype=np.uint64)
    pairs = verified_pairs(gids, bands, keys, lambda ids: np.stack([sigs[i] for i in ids]), CFG)
    # 0-1: 7/8 = 0.875 >= 0.841; 1-2: 7/8; 0-2: 6/8 too low; 3 shares no band (collision only).
    assert pairs.tolist() == [[1, 0, 0], [2, 1, 0]]
    none = verified_pairs(gids[:1], bands[:1], keys[:1], lambda ids: np.stack([sigs[i] for i in ids]), CFG)
    assert none.shape == (0, 3)


def test_exact_duplicates_collapse_onto_their_first_copy() -> None:
    # Pages 1, 4, 6 have one signature, 2 and 5 another (0.875 from it); 3 is far from both.
    base, near, far = BASE, _with({5: 99}), _with({4: 1, 5: 2, 6: 3})
    sigs = {1: base, 2: near, 3: far, 4: base, 5: near, 6: base}
    gids = np.array([6, 5, 4, 3, 2, 1])  # any order: rows are sorted inside
    keys = np.full(6, 7, dtype=np.uint64)
    rows = verified_pairs(gids, np.zeros(6, dtype=np.int64), keys, lambda ids: np.stack([sigs[i] for i in ids]), CFG)
    # Copies point at the first page of their signature; only first copies are paired (1-2).
    assert rows.tolist() == [[2, 1, 0], [4, 1, 1], [5, 2, 1], [6, 1, 1]]


def test_url_partitions_keep_the_first_page_of_each_url(tmp_path: Path) -> None:
    # Two shards: global ids 0-2 and 3-5. URL keys spread over both halves of the key space.
    low, high = 5, KEY_SPACE - 5
    save_array(tmp_path, "url", 0, url_table(np.array([high, low, high], dtype=np.uint64)))
    save_array(tmp_path, "url", 1, url_table(np.array([low, 7, high], dtype=np.uint64)))
    offsets = (0, 3, 6)
    assert url_partition(0, 2, offsets, str(tmp_path)) == 1
    assert url_partition(1, 2, offsets, str(tmp_path)) == 2
    assert load_array(tmp_path, "url_drop", 0).tolist() == [3]  # key 5: first at id 1
    assert load_array(tmp_path, "url_drop", 1).tolist() == [2, 5]  # the last key: first at id 0


def test_partitions_cover_the_key_space_and_rows_are_gathered_by_global_id(tmp_path: Path) -> None:
    bounds = [partition_bounds(p, 3) for p in range(3)]
    assert bounds[0][0] == 0 and bounds[-1][1] == KEY_SPACE
    assert all(bounds[p][1] == bounds[p + 1][0] for p in range(2))
    table = sort_keyed(np.array([9, 1, KEY_SPACE - 1, 1], dtype=np.uint64), np.array([0, 1, 2, 3], dtype=np.uint64))
    assert table.tolist() == [[1, 1], [1, 3], [9, 0], [KEY_SPACE - 1, 2]]
    assert key_slice(table, 1, 10).tolist() == [[1, 1], [1, 3], [9, 0]]
    assert key_slice(table, 10, KEY_SPACE).tolist() == [[KEY_SPACE - 1, 2]]
    save_array(tmp_path, "x", 0, np.array([[0, 0], [1, 1]]))
    save_array(tmp_path, "x", 1, np.array([[2, 2], [3, 3], [4, 4]]))
    index = PageIndex.from_counts([2, 3])
    assert index.offsets == (0, 2, 5) and index.total == 5 and index.n_shards == 2
    assert gather_rows(tmp_path, "x", index, np.array([4, 0, 2])).tolist() == [[4, 4], [0, 0], [2, 2]]
