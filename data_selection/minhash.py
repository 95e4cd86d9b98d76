"""MinHash signatures computed for many documents at once, equal bit for bit to datasketch's.

datasketch 2.0's default "affine32" scheme hashes each shingle (here with xxh32), pre-mixes the
hash with the MurmurHash3 finalizer, applies ``a_k * h + b_k mod 2^32`` for each permutation k
and keeps the minimum per permutation. ``MinHash.bulk`` does this one document at a time; here
all shingle hashes of a batch of documents go through the permutations as one numpy array and
``np.minimum.reduceat`` takes the per-document minima, which removes the per-document Python
overhead. The permutation parameters are taken from datasketch itself (``MinHash(num_perm,
seed).permutations``) and a test checks the signatures equal ``MinHash.bulk``'s, so this is an
optimisation of datasketch's MinHash, not another estimator.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xxhash
from datasketch import MinHash

_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_CHUNK_SHINGLES = 16_384  # columns of the (perms x shingles) uint32 block: 8 MiB at 128 perms


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b) for ``num_perm`` and ``seed``."""
    sketch = MinHash(num_perm=num_perm, seed=seed)
    # Before datasketch 2.0 the only scheme was "legacy" (mod 2^61 - 1, 64-bit a and b): the cast
    # below would silently truncate them and the signatures would no longer be datasketch's.
    if getattr(sketch, "scheme", None) != "affine32":
        raise RuntimeError("datasketch >= 2.0 is needed: its default MinHash scheme must be affine32")
    a, b = sketch.permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    return hv ^ (hv >> s3)


def shingle_hashes(shingle_sets: Sequence[Sequence[bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(all xxh32 hashes concatenated, start offset of each document); every set is non-empty."""
    hashes = np.fromiter((xxhash.xxh32_intdigest(s) for doc in shingle_sets for s in doc), dtype=np.uint32)
    lengths = np.fromiter((len(doc) for doc in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    if np.any(lengths == 0):
        raise ValueError("shingle_sets: every document needs at least one shingle")
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return hashes, starts


def signatures(shingle_sets: Sequence[Sequence[bytes]], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(documents x permutations) uint32 MinHash signatures, equal to datasketch's for xxh32."""
    out = np.empty((len(shingle_sets), len(a)), dtype=np.uint32)
    if not shingle_sets:
        return out
    hashes, starts = shingle_hashes(shingle_sets)
    mixed = _fmix32(hashes)
    ends = np.append(starts[1:], len(mixed))
    doc = 0
    while doc < len(starts):
        # Take whole documents until the block holds about _CHUNK_SHINGLES shingles (at least one doc).
        last = max(doc + 1, int(np.searchsorted(ends, starts[doc] + _CHUNK_SHINGLES, side="right")))
        lo, hi = starts[doc], ends[last - 1]
        # (perms x shingles): reduceat along the contiguous last axis is ~20x faster than axis 0.
        block = a[:, None] * mixed[None, lo:hi] + b[:, None]  # uint32 wraparound is the mod 2^32
        out[doc:last] = np.minimum.reduceat(block, starts[doc:last] - lo, axis=1).T
        doc = last
    return out


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of equal signature slots: datasketch's ``MinHash.jaccard``."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
