"""The near-dedup candidate index: our sharded LSH buckets vs datasketch's MinHashLSH, same pages.

Both start from the same signatures and the same URL-dedup status, and both apply the stage's
rule (drop a page when an already kept earlier page shares a band with it and their estimated
Jaccard reaches the threshold), so their keep/drop decisions must be equal; the bench checks it.
- ours: band tables per shard (``lsh_buckets.band_table``), verified pairs per hash partition
  (``bucket_partition``), the greedy pass over the pairs (``dedup._greedy_pass``);
- datasketch: one in-memory ``MinHashLSH(params=(bands, rows))``; pages in input order, each
  queried, its candidates verified with ``MinHash.jaccard``, and inserted when kept.

Printed per pool (the default world of params.yaml, then one with ``--scale`` times its domains):
seconds of each, the ratio datasketch/ours, and the peak heap each needs in one process
(tracemalloc, in a second, untimed run): ours, the largest partition pass; datasketch, the index
of the whole pool (and bytes per page), since the greedy rule needs every earlier kept page in it.

  python bench/data_lsh.py [--scale 10] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from data_selection.config import DedupConfig, ExecutorConfig, WebConfig
from data_selection.dedup import (KEPT, NEAR_DUP, PAGES_PER_PARTITION, Signed, _greedy_pass, _status, _url_pass,
                                  compute_signatures)
from data_selection.lsh_buckets import band_table, bucket_partition
from data_selection.shard_arrays import load_array, save_array
from data_selection.shards import plan_shards
from data_selection.synthetic_web import generate_web
from evaluation.synthetic_problems import make_splits
from inputs.jsonl import write_jsonl_atomic
from pipeline.config import load_params


def ours(signed: Signed, cfg: DedupConfig, n_parts: int, executor: ExecutorConfig) -> None:
    """The stage's path from signatures on (band tables are rebuilt here so they are timed too)."""
    for shard in range(signed.index.n_shards):
        save_array(signed.workdir, "band", shard, band_table(np.asarray(load_array(signed.workdir, "sig", shard)), cfg))
    for part in range(n_parts):
        bucket_partition(part, n_parts, signed.index.offsets, cfg, signed.workdir)
    _greedy_pass(signed, n_parts)


def datasketch_greedy(signed: Signed, cfg: DedupConfig, seed: int) -> None:
    """The same rule on one MinHashLSH holding every kept page of the pool."""
    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    status = _status(signed, "r+")
    kept: dict[int, LeanMinHash] = {}
    for shard in range(signed.index.n_shards):
        sigs = np.asarray(load_array(signed.workdir, "sig", shard))
        for local in range(len(sigs)):
            gid = signed.index.offsets[shard] + local
            if status[gid] != KEPT:
                continue  # URL duplicates never enter the index
            m = LeanMinHash(seed=seed, hashvalues=sigs[local], scheme="affine32")
            if any(kept[c].jaccard(m) >= cfg.threshold for c in lsh.query(m)):
                status[gid] = NEAR_DUP
                continue
            lsh.insert(gid, m, check_duplication=False)
            kept[gid] = m
    status.flush()


def measure(name: str, web: WebConfig, planted: list[tuple[str, str]], seed: int, cfg: DedupConfig,
            shard_bytes: int) -> None:
    executor = ExecutorConfig()  # inline: both paths timed in this one process
    with tempfile.TemporaryDirectory(prefix="bench-lsh-") as tmp:
        tmp = Path(tmp)
        write_jsonl_atomic(tmp / "web.jsonl", generate_web(web, seed, planted)[0])
        shards = plan_shards(tmp / "web.jsonl", shard_bytes)
        signed = compute_signatures(shards, cfg, seed, executor, tmp / "work")
        n_parts = max(executor.workers, -(-signed.index.total // PAGES_PER_PARTITION))
        _url_pass(signed, n_parts, executor, None)
        start = tmp / "work" / "status.u8"
        shutil.copy(start, tmp / "url_status.u8")
        results, seconds, heap = {}, {}, {}
        for label, run in (("ours", lambda: ours(signed, cfg, n_parts, executor)),
                           ("datasketch", lambda: datasketch_greedy(signed, cfg, seed))):
            for traced in (False, True):
                shutil.copy(tmp / "url_status.u8", start)
                if traced:
                    tracemalloc.start()
                t0 = time.perf_counter()
                run()
                if traced:
                    heap[label] = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                else:
                    seconds[label] = time.perf_counter() - t0
            results[label] = np.array(_status(signed, "r"))
        same = np.array_equal(results["ours"], results["datasketch"])
        pages = signed.index.total
        near = int(np.count_nonzero(results["ours"] == NEAR_DUP))
        per_worker = pages / n_parts
        print(f"{name}: pages={pages:,} shards={signed.index.n_shards} partitions={n_parts} near_dups={near} "
              f"same_decisions={same}")
        print(f"  time ours={seconds['ours']:.2f}s datasketch={seconds['datasketch']:.2f}s "
              f"ratio datasketch/ours={seconds['datasketch'] / seconds['ours']:.2f}")
        print(f"  peak heap ours={heap['ours'] / 2**20:.1f} MiB (largest process: one partition of "
              f"~{per_worker:,.0f} pages) datasketch={heap['datasketch'] / 2**20:.1f} MiB (one index, all "
              f"{pages:,} pages: {heap['datasketch'] / pages:,.0f} B/page)")
        if not same:
            raise SystemExit("decisions differ between the two paths")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--scale", type=int, default=10, help="the larger pool has this many times the default's domains")
    args = p.parse_args()
    params = load_params(args.params)
    web, cfg = params.world.web, params.dedup
    shard_bytes = params.executor.shard_bytes
    # The world stage plants the synthetic test problems; the larger pool plants the same ones.
    planted = [(t["id"], t["question"]) for t in make_splits(params.world.problems, params.seed)[1]]
    measure("default world", web, planted, params.seed, cfg, shard_bytes)
    measure(f"{args.scale}x world", dataclasses.replace(web, n_domains=web.n_domains * args.scale), planted,
            params.seed, cfg, shard_bytes)


if __name__ == "__main__":
    main()
