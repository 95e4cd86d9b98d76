"""URL-based dedup then MinHash near-dedup of crawled pages (the paper's pool preparation).

The paper says only that Common Crawl was URL-deduplicated and near-deduplicated, without the
method or its parameters. Here:
- URL dedup keeps the first page of each normalised URL (see ``normalize_url``), compared by a
  64-bit xxh3 hash (a collision needs ~4e9 pages to be likely);
- near-dedup uses datasketch's MinHash (affine32 scheme, xxh32 shingle hashes) over lower-cased
  word ``shingle_size``-grams, computed per shard by ``data_selection.minhash`` (bit-identical,
  vectorised), with LSH over explicit (bands, rows). A page is dropped when an already *kept*
  earlier page (input order) shares a band with it and their *estimated* Jaccard is at least the
  threshold implied by the banding, (1/b)^(1/r): a greedy pass, not connected components. The
  estimate check (rather than dropping on any shared band) removes the banding's false positives
  at the cost of a few borderline misses. The first page of a cluster is the one kept.

The work is split so that no process holds per-page state for the whole crawl, the way
DataTrove's multi-stage MinHash is organised (signatures -> buckets -> clusters -> filter); every
pass runs on the configured executor and exchanges files in a work directory (on a Ray cluster,
storage every node sees: the stage puts it next to its output):
1. per shard (``signature_shard``): signatures, URL keys, band keys, ground truth -> files;
2. per URL-hash partition (``url_dedup``): the first page of each URL -> the status file;
3. per band-key partition (``lsh_buckets``): candidate pairs sharing a band bucket, verified
   with the estimated Jaccard (exact duplicates collapsed onto their first copy) -> sorted
   pair files;
4. the greedy pass (driver, shard by shard): pairs (i < j) in order of j against a keep status
   that lives in a memory-mapped file, one byte per page;
5. per cluster partition (``dedup_truth``): ground-truth counts; per shard: the kept pages.
The number of partitions follows the pool: about ``PAGES_PER_PARTITION`` pages' rows each (at
least one per worker), so a partition worker's memory stays flat as the crawl grows, and each
reads its slice from every shard's table (partitions x shards small reads).

Ground truth (``dup_cluster``, when present) is scored: every planted pair gets its exact
shingle Jaccard, and the metrics report how many pairs with J >= 0.8 were caught, and drops whose
match was not in the page's cluster (false merges).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import xxhash
from tqdm import tqdm

from data_selection.config import DedupConfig, ExecutorConfig
from data_selection.dedup_truth import pair_metrics, save_truth, truth_partition
from data_selection.executors import PeakRss, run_shards
from data_selection.lsh_buckets import band_table, bucket_partition
from data_selection.minhash import permutations, signatures
from data_selection.shard_arrays import PageIndex, array_path, concat_atomic, gather_rows, load_array, save_array
from data_selection.shards import Shard, iter_shard, plan_shards
from data_selection.url_dedup import url_partition, url_table
from inputs.jsonl import read_jsonl, write_jsonl_atomic

_DEFAULT_PORTS = {"http": 80, "https": 443}
KEPT, URL_DUP, NEAR_DUP = 0, 1, 2  # the bytes of the status file
# Pages per URL/bucket/cluster partition. A bucket worker holds ``bands`` rows per page while it
# filters and sorts them, about 2 KiB per page at 16 bands (measured: 44k pages took 95 MiB over
# the imports, 10k pages about 30 MiB, below the signature pass's peak on a 1 MiB shard).
PAGES_PER_PARTITION = 10_000


def normalize_url(url: str) -> str:
    """Canonical form of ``url`` for exact-URL dedup.

    Lower-cases scheme and host, drops a default port, user info, the fragment and ``utm_*``
    tracking parameters, sorts the remaining query parameters, and strips a trailing slash from
    the path (the root path stays "/"). The path's case is kept: servers may treat it as
    significant.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal needs its brackets back
    try:
        port = parts.port
    except ValueError:
        port = None  # a malformed port is not worth failing a crawl over; treat as absent
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith("utm_")]
    query = urlencode(sorted(query_pairs))
    return urlunsplit((scheme, netloc, path, query, ""))


def shingles(text: str, size: int) -> list[bytes]:
    """Distinct lower-cased word ``size``-grams of ``text`` as UTF-8 bytes (a short text is one shingle)."""
    words = text.lower().split()
    if len(words) <= size:
        return [" ".join(words).encode("utf-8")]
    return sorted({" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)})


def valid_page(page: dict) -> bool:
    """A page the data stages can use: string ``url`` and ``text``."""
    return isinstance(page.get("url"), str) and isinstance(page.get("text"), str)


@dataclass(frozen=True)
class ShardSummary:
    """What a signature worker returns: counts only; the per-page data is in the work directory."""

    n_records: int  # JSON objects read, valid or not
    n_valid: int
    skipped: Counter[str]
    n_clustered: int  # pages with a ground-truth dup_cluster


def signature_shard(item: tuple[int, Shard], cfg: DedupConfig, seed: int, workdir: str) -> ShardSummary:
    """Shard worker: signatures, URL and band tables, ground truth of the shard's valid pages."""
    index, shard = item
    skipped: Counter[str] = Counter()
    url_keys: list[int] = []
    sets: list[list[bytes]] = []
    clusters: list[int] = []
    n_records = 0
    for page in iter_shard(shard, skipped):
        n_records += 1
        if not valid_page(page):
            skipped["missing_url_or_text"] += 1
            continue
        url_keys.append(xxhash.xxh3_64_intdigest(normalize_url(page["url"]).encode("utf-8")))
        sets.append(shingles(page["text"], cfg.shingle_size))
        cluster = page.get("dup_cluster")
        clusters.append(int(cluster) if isinstance(cluster, int) else -1)
    a, b = permutations(cfg.num_perm, seed)
    sigs = signatures(sets, a, b)
    save_array(workdir, "sig", index, sigs)
    save_array(workdir, "band", index, band_table(sigs, cfg))
    save_array(workdir, "url", index, url_table(np.array(url_keys, dtype=np.uint64)))
    cluster_arr = np.array(clusters, dtype=np.int64)
    save_array(workdir, "cluster", index, cluster_arr)
    empty = np.empty(0, dtype=np.uint64)
    save_truth(workdir, index, cluster_arr, [
        np.unique(np.fromiter((xxhash.xxh64_intdigest(s) for s in sets[i]), dtype=np.uint64)) if c >= 0 else empty
        for i, c in enumerate(clusters)])
    return ShardSummary(n_records, len(sets), skipped, int(np.count_nonzero(cluster_arr >= 0)))


@dataclass(frozen=True)
class Signed:
    """The signature pass over a pool: where its files are and how many pages each shard has."""

    workdir: str
    index: PageIndex
    n_records: int
    skipped: Counter[str]
    n_clustered: int


def compute_signatures(shards: list[Shard], cfg: DedupConfig, seed: int, executor: ExecutorConfig,
                       workdir: str | Path, peak: PeakRss | None = None) -> Signed:
    """Pass 1 over ``shards`` on ``executor``; per-shard files go under ``workdir``."""
    workdir = str(workdir)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    summaries = run_shards(signature_shard, list(enumerate(shards)), (cfg, seed, workdir), executor, peak,
                           "dedup: signatures")
    skipped: Counter[str] = Counter()
    for s in summaries:
        skipped.update(s.skipped)
    return Signed(workdir, PageIndex.from_counts([s.n_valid for s in summaries]),
                  sum(s.n_records for s in summaries), skipped, sum(s.n_clustered for s in summaries))


def _status(signed: Signed, mode: str) -> np.memmap:
    return np.memmap(Path(signed.workdir) / "status.u8", dtype=np.uint8, mode=mode, shape=(signed.index.total,))


def _url_pass(signed: Signed, n_parts: int, executor: ExecutorConfig, peak: PeakRss | None) -> int:
    """Mark URL duplicates in a fresh status file (every other page starts as kept); their count."""
    status = _status(signed, "w+")
    dropped = run_shards(url_partition, range(n_parts), (n_parts, signed.index.offsets, signed.workdir),
                         executor, peak, "dedup: URL partitions")
    for part in range(n_parts):
        status[load_array(signed.workdir, "url_drop", part)] = URL_DUP
    status.flush()
    return sum(dropped)


def _pairs_of_shard(signed: Signed, shard: int, n_parts: int) -> np.ndarray:
    """``[j, i, copy]`` rows with j in ``shard``, unique and sorted by (j, i), from every partition."""
    lo, hi = signed.index.offsets[shard], signed.index.offsets[shard + 1]
    chunks = []
    for part in range(n_parts):
        pairs = load_array(signed.workdir, "pairs", part)
        start, stop = np.searchsorted(pairs[:, 0], [lo, hi])
        chunks.append(np.array(pairs[start:stop]))
    return np.unique(np.concatenate(chunks), axis=0)


def _greedy_pass(signed: Signed, n_parts: int) -> tuple[int, int]:
    """Drop page j when a kept i < j is among its verified pairs; return (near drops, false merges).

    Pairs are processed in order of j, and i's status is final when j's turn comes, so this is
    the sequential rule "drop when an already kept earlier page matches". The match is the
    smallest kept i, whose cluster decides whether the drop is a false merge. A *copy* row
    (j's signature equals that of the earlier page i, see ``lsh_buckets``) gives j i's fate: j
    shares every band with i and every page i matches, so j is dropped either way, matched by i
    when i was kept and by i's own match when i was dropped (any kept page that i did not match
    comes after it). Matches live in a memory-mapped file next to the status file.
    """
    status = _status(signed, "r+")
    match = np.memmap(Path(signed.workdir) / "match.i8", dtype=np.int64, mode="w+", shape=(signed.index.total,))
    near = false_merges = 0
    for shard in tqdm(range(signed.index.n_shards), desc="dedup: greedy pass", unit="shard", mininterval=2):
        dropped: list[int] = []
        matches: list[int] = []
        for j, i, copy in _pairs_of_shard(signed, shard, n_parts).tolist():
            if status[j] != KEPT:
                continue
            if status[i] == KEPT:
                m = i
            elif copy and status[i] == NEAR_DUP:
                m = int(match[i])
            else:
                continue
            status[j] = NEAR_DUP
            match[j] = m
            dropped.append(j)
            matches.append(m)
        if dropped:
            near += len(dropped)
            lo = signed.index.offsets[shard]
            cluster_j = np.asarray(load_array(signed.workdir, "cluster", shard))[np.array(dropped) - lo]
            cluster_i = gather_rows(signed.workdir, "cluster", signed.index, np.array(matches))
            false_merges += int(np.count_nonzero((cluster_j < 0) | (cluster_i != cluster_j)))
    status.flush()
    return near, false_merges


def write_kept_shard(item: tuple[int, Shard], offsets: tuple[int, ...], workdir: str) -> int:
    """Shard worker: the shard's kept pages, as JSON lines, to ``parts/<shard>.jsonl``; their count."""
    index, shard = item
    lo, hi = offsets[index], offsets[index + 1]
    status = np.array(np.memmap(Path(workdir) / "status.u8", dtype=np.uint8, mode="r")[lo:hi]) if hi > lo else []
    path = array_path(workdir, "parts", index).with_suffix(".jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = local = 0
    with open(path, "w", encoding="utf-8") as fh:
        for page in iter_shard(shard, Counter()):
            if not valid_page(page):
                continue
            if status[local] == KEPT:
                fh.write(json.dumps(page, ensure_ascii=False, sort_keys=True) + "\n")
                kept += 1
            local += 1
    return kept


def decide_and_write(signed: Signed, shards: list[Shard], cfg: DedupConfig, executor: ExecutorConfig,
                     out: str | Path, peak: PeakRss | None = None) -> dict:
    """Passes 2-5 over the signed pool: write the kept pages to ``out`` (atomically); return the counts."""
    n_parts = max(executor.workers, -(-signed.index.total // PAGES_PER_PARTITION))
    url_dropped = near = false_merges = 0
    truth: Counter[str] = Counter()
    if signed.index.total:
        url_dropped = _url_pass(signed, n_parts, executor, peak)
        run_shards(bucket_partition, range(n_parts), (n_parts, signed.index.offsets, cfg, signed.workdir),
                   executor, peak, "dedup: LSH buckets")
        near, false_merges = _greedy_pass(signed, n_parts)
        if signed.n_clustered:
            for counts in run_shards(truth_partition, range(n_parts),
                                     (n_parts, signed.index.offsets, signed.workdir), executor, peak,
                                     "dedup: ground truth"):
                truth.update(counts)
    kept = sum(run_shards(write_kept_shard, list(enumerate(shards)), (signed.index.offsets, signed.workdir),
                          executor, peak, "dedup: write kept"))
    concat_atomic([array_path(signed.workdir, "parts", i).with_suffix(".jsonl") for i in range(len(shards))], out)
    stats = {
        "input": signed.n_records,
        "malformed": dict(signed.skipped),
        "url_duplicates": url_dropped,
        "near_duplicates": near,
        "kept": kept,
        "threshold": round(cfg.threshold, 4),
        "false_merges": false_merges,
        "false_merge_rate": false_merges / near if near else 0.0,
    }
    stats.update(pair_metrics(truth))
    return stats


def dedup(pages: Iterable[dict], cfg: DedupConfig, seed: int) -> tuple[list[dict], dict]:
    """The sharded dedup over a list of pages, inline in a temporary directory: (kept pages, counts).

    For tests and small inputs; the kept pages are new dicts (read back from the output).
    """
    with tempfile.TemporaryDirectory(prefix="dedup-") as tmp:
        path = Path(tmp) / "pages.jsonl"
        write_jsonl_atomic(path, pages)
        shards = plan_shards(path, max(1, path.stat().st_size))
        executor = ExecutorConfig()
        signed = compute_signatures(shards, cfg, seed, executor, Path(tmp) / "work")
        stats = decide_and_write(signed, shards, cfg, executor, Path(tmp) / "kept.jsonl")
        return list(read_jsonl(Path(tmp) / "kept.jsonl")), stats
