"""MinHash signatures: data_selection.minhash vs datasketch MinHash.bulk (xxh32), same documents.

Prints docs/s of each and the ratio (goal >= 1.0; shingling excluded from both), then the peak
RSS of computing signatures for N pages streamed in shards of 1000 (default 1M pages):

  python bench/data_minhash.py [--docs 5000] [--stream-pages 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import xxhash
from datasketch import MinHash

from data_selection.config import WebConfig
from data_selection.dedup import shingles
from data_selection.minhash import permutations, signatures
from data_selection.synthetic_web import generate_web


def _docs(n: int) -> list[str]:
    cfg = WebConfig(n_domains=max(1, n // 40), pages_per_domain=40, math_domain_fraction=0.2,
                    mixed_domain_fraction=0.2, near_dup_fraction=0.0, url_dup_fraction=0.0,
                    n_seed_pages=1, n_planted=0, words_per_page=300)
    return [p["text"] for p in generate_web(cfg, 0, [])[0]][:n]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--docs", type=int, default=5000)
    p.add_argument("--stream-pages", type=int, default=1_000_000)
    args = p.parse_args()
    texts = _docs(args.docs)
    sets = [shingles(t, 5) for t in texts]
    a, b = permutations(128, 0)
    t0 = time.perf_counter()
    ours = signatures(sets, a, b)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = MinHash.bulk(sets, num_perm=128, seed=0, hashfunc=xxhash.xxh32_intdigest)
    t_ref = time.perf_counter() - t0
    assert np.array_equal(ours, np.stack([m.hashvalues for m in ref])), "signatures differ from datasketch"
    print(f"docs={len(sets)} ours={len(sets) / t_ours:,.0f} docs/s datasketch={len(sets) / t_ref:,.0f} docs/s "
          f"ratio={t_ref / t_ours:.2f}")
    # Streaming: shards of 1000 pages (the texts above recycled), signatures kept as uint32.
    done, t0 = 0, time.perf_counter()
    kept = []
    while done < args.stream_pages:
        n = min(1000, args.stream_pages - done)
        batch = [shingles(texts[(done + i) % len(texts)], 5) for i in range(n)]
        kept.append(signatures(batch, a, b))
        done += n
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"stream pages={done:,} time={elapsed:.0f}s ({done / elapsed:,.0f} pages/s incl. shingling) "
          f"signatures={sum(k.nbytes for k in kept) / 2**20:.0f} MiB peak_rss={peak_mb:.0f} MiB")


if __name__ == "__main__":
    main()
