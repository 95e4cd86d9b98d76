"""URL-based dedup then MinHash near-dedup of crawled pages (the paper's pool preparation).

The paper says only that Common Crawl was URL-deduplicated and near-deduplicated, without the
method or its parameters. Here:
- URL dedup keeps the first page of each normalised URL (see ``normalize_url``); the driver
  keeps a 64-bit xxh3 hash per URL, not the URL (a collision needs ~4e9 pages to be likely);
- near-dedup uses datasketch's MinHash (affine32 scheme, xxh32 shingle hashes) over lower-cased
  word ``shingle_size``-grams, computed per shard by ``data_selection.minhash`` (bit-identical,
  vectorised), and an LSH index with explicit (bands, rows). A page is dropped when one of its
  LSH candidates is an already-kept page whose *estimated* Jaccard is at least the threshold
  implied by the banding, (1/b)^(1/r). The extra estimate check (rather than dropping on any
  candidate) removes the banding's false positives at the cost of a few borderline misses.
Pages are processed in input order, so the first page of a cluster is the one kept.

Ground truth (``dup_cluster``, when present) is scored: every planted pair (a cluster's first
page after URL dedup and each other member) gets its exact shingle Jaccard, and the metrics
report how many pairs with J >= 0.8 were caught, and drops whose match was not in the page's
cluster (false merges).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import xxhash
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from data_selection.config import DedupConfig
from data_selection.minhash import jaccard_estimate, permutations, signatures
from data_selection.shards import Shard, iter_shard

_DEFAULT_PORTS = {"http": 80, "https": 443}


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


@dataclass
class SigBatch:
    """What one shard sends back to the driver: compact per-page keys, no page text."""

    n_records: int  # JSON objects read, valid or not (the driver re-reads them in this order)
    valid: np.ndarray  # bool per record
    url_keys: np.ndarray  # uint64 xxh3 of the normalised URL, per valid page
    sigs: np.ndarray  # (valid pages x num_perm) uint32
    clusters: np.ndarray  # int64 ground-truth dup_cluster per valid page, -1 when none
    cluster_shingles: dict[int, np.ndarray] = field(default_factory=dict)  # valid idx -> shingle hashes
    skipped: Counter[str] = field(default_factory=Counter)


def page_signatures(records: Iterable[dict], cfg: DedupConfig, seed: int) -> SigBatch:
    """Signatures and keys of ``records`` (invalid ones are marked, counted and skipped)."""
    valid: list[bool] = []
    keys: list[int] = []
    sets: list[list[bytes]] = []
    clusters: list[int] = []
    skipped: Counter[str] = Counter()
    for page in records:
        ok = valid_page(page)
        valid.append(ok)
        if not ok:
            skipped["missing_url_or_text"] += 1
            continue
        keys.append(xxhash.xxh3_64_intdigest(normalize_url(page["url"]).encode("utf-8")))
        sets.append(shingles(page["text"], cfg.shingle_size))
        cluster = page.get("dup_cluster")
        clusters.append(cluster if isinstance(cluster, int) else -1)
    a, b = permutations(cfg.num_perm, seed)
    cluster_shingles = {
        i: np.unique(np.fromiter((xxhash.xxh64_intdigest(s) for s in sets[i]), dtype=np.uint64))
        for i, c in enumerate(clusters) if c >= 0
    }
    return SigBatch(len(valid), np.array(valid, dtype=bool), np.array(keys, dtype=np.uint64),
                    signatures(sets, a, b), np.array(clusters, dtype=np.int64), cluster_shingles, skipped)


def signature_shard(shard: Shard, cfg: DedupConfig, seed: int) -> SigBatch:
    """Shard function: read the shard's pages and compute their ``SigBatch``."""
    skipped: Counter[str] = Counter()
    batch = page_signatures(iter_shard(shard, skipped), cfg, seed)
    batch.skipped.update(skipped)
    return batch


class NearDupIndex:
    """LSH over kept pages' signatures: (bands x rows) slices, each an exact-match table."""

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.tables: list[dict[bytes, list[int]]] = [{} for _ in range(cfg.bands)]
        self.sigs: dict[int, np.ndarray] = {}

    def _keys(self, sig: np.ndarray) -> Iterator[tuple[int, bytes]]:
        r = self.cfg.rows
        for band in range(self.cfg.bands):
            yield band, sig[band * r:(band + 1) * r].tobytes()

    def match(self, sig: np.ndarray) -> int | None:
        """Smallest kept id sharing a band whose estimated Jaccard reaches the threshold."""
        candidates = sorted({c for band, key in self._keys(sig) for c in self.tables[band].get(key, ())})
        threshold = self.cfg.threshold
        return next((c for c in candidates if jaccard_estimate(self.sigs[c], sig) >= threshold), None)

    def add(self, page_id: int, sig: np.ndarray) -> None:
        self.sigs[page_id] = sig
        for band, key in self._keys(sig):
            self.tables[band].setdefault(key, []).append(page_id)


@dataclass
class _Decisions:
    keep: list[np.ndarray]  # per batch, bool per valid page
    url_dropped: int = 0
    near_dropped: int = 0
    false_merges: int = 0
    survivors: dict[int, list[int]] = field(default_factory=dict)  # cluster -> global ids after URL dedup
    shingle_sets: dict[int, np.ndarray] = field(default_factory=dict)
    kept_ids: set[int] = field(default_factory=set)


def decide(batches: Iterable[SigBatch], cfg: DedupConfig) -> _Decisions:
    """Sequential keep/drop over all pages in input order (URL first, then near-duplicate)."""
    seen_urls: set[int] = set()
    index = NearDupIndex(cfg)
    out = _Decisions(keep=[])
    cluster_of: dict[int, int] = {}
    gid = 0
    for batch in batches:
        keep = np.zeros(len(batch.url_keys), dtype=bool)
        for i, key in enumerate(batch.url_keys.tolist()):
            gid += 1
            if key in seen_urls:
                out.url_dropped += 1
                continue
            seen_urls.add(key)
            cluster = int(batch.clusters[i])
            if cluster >= 0:
                out.survivors.setdefault(cluster, []).append(gid)
                out.shingle_sets[gid] = batch.cluster_shingles[i]
                cluster_of[gid] = cluster
            match = index.match(batch.sigs[i])
            if match is None:
                index.add(gid, batch.sigs[i])
                out.kept_ids.add(gid)
                keep[i] = True
                continue
            out.near_dropped += 1
            out.false_merges += cluster < 0 or cluster_of.get(match) != cluster
        out.keep.append(keep)
    return out


def _exact_jaccard(x: np.ndarray, y: np.ndarray) -> float:
    inter = np.intersect1d(x, y, assume_unique=True).size
    return inter / (x.size + y.size - inter)


def pair_metrics(dec: _Decisions, min_jaccard: float = 0.8) -> dict:
    """Planted pairs (cluster's first surviving URL vs each other member): caught or not, by J."""
    kept_ids = dec.kept_ids
    pairs = caught = pairs_hi = caught_hi = 0
    for members in dec.survivors.values():
        first = members[0]
        for other in members[1:]:
            j = _exact_jaccard(dec.shingle_sets[first], dec.shingle_sets[other])
            hit = not (first in kept_ids and other in kept_ids)
            pairs += 1
            caught += hit
            if j >= min_jaccard:
                pairs_hi += 1
                caught_hi += hit
    return {
        "planted_pairs": pairs,
        "planted_pairs_caught": caught,
        "planted_pairs_j80": pairs_hi,
        "planted_pairs_j80_caught": caught_hi,
        "catch_rate_j80": caught_hi / pairs_hi if pairs_hi else 1.0,
        "clusters_found": sum(1 for m in dec.survivors.values() if len(m) > 1 and sum(g in kept_ids for g in m) == 1),
    }


def _stats(dec: _Decisions, n_input: int, kept: int, cfg: DedupConfig, skipped: Counter[str]) -> dict:
    stats = {
        "input": n_input,
        "malformed": dict(skipped),
        "url_duplicates": dec.url_dropped,
        "near_duplicates": dec.near_dropped,
        "kept": kept,
        "threshold": round(cfg.threshold, 4),
        "false_merges": dec.false_merges,
        "false_merge_rate": dec.false_merges / dec.near_dropped if dec.near_dropped else 0.0,
    }
    stats.update(pair_metrics(dec))
    return stats


def dedup(pages: Iterable[dict], cfg: DedupConfig, seed: int) -> tuple[list[dict], dict]:
    """In-memory form of ``dedup_shards`` for a list of pages: (kept pages as new dicts, counts)."""
    items = list(pages)
    batch = page_signatures(items, cfg, seed)
    dec = decide([batch], cfg)
    valid = [p for p, ok in zip(items, batch.valid) if ok]
    kept = [dict(p) for p, k in zip(valid, dec.keep[0]) if k]
    return kept, _stats(dec, len(items), len(kept), cfg, batch.skipped)


def kept_records(shards: list[Shard], dec: _Decisions) -> Iterator[dict]:
    """Stream the kept pages back from the shards, in input order (a second read, not a copy)."""
    for shard, keep in zip(shards, dec.keep):
        valid_iter = iter(keep.tolist())
        for page in iter_shard(shard, Counter()):
            if valid_page(page) and next(valid_iter):
                yield page


def dedup_stats(batches: list[SigBatch], dec: _Decisions, cfg: DedupConfig) -> dict:
    skipped: Counter[str] = Counter()
    for batch in batches:
        skipped.update(batch.skipped)
    n_input = sum(b.n_records for b in batches)
    kept = sum(int(k.sum()) for k in dec.keep)
    return _stats(dec, n_input, kept, cfg, skipped)
