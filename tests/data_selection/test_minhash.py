"""The vectorised MinHash equals datasketch's MinHash.bulk (xxh32) bit for bit."""

from __future__ import annotations

import numpy as np
import xxhash
from datasketch import MinHash

from data_selection.dedup import shingles
from data_selection.minhash import jaccard_estimate, permutations, signatures


def test_signatures_equal_datasketch_bulk() -> None:
    rng = np.random.default_rng(0)
    docs = [" ".join(f"w{x}" for x in rng.integers(0, 300, n)) for n in (0, 1, 4, 5, 6, 50, 400)] * 3
    sets = [shingles(d, 5) for d in docs]
    a, b = permutations(128, 7)
    ours = signatures(sets, a, b)
    ref = MinHash.bulk(sets, num_perm=128, seed=7, hashfunc=xxhash.xxh32_intdigest)
    np.testing.assert_array_equal(ours, np.stack([m.hashvalues for m in ref]))
    assert jaccard_estimate(ours[5], ours[6]) == ref[5].jaccard(ref[6])


def test_chunking_does_not_change_signatures(monkeypatch) -> None:
    import data_selection.minhash as mh

    sets = [[f"s{i}-{j}".encode() for j in range(i % 7 + 1)] for i in range(40)]
    a, b = permutations(16, 1)
    whole = signatures(sets, a, b)
    monkeypatch.setattr(mh, "_CHUNK_SHINGLES", 3)  # forces one document per block, and splits
    np.testing.assert_array_equal(signatures(sets, a, b), whole)
    assert signatures([], a, b).shape == (0, 16)
