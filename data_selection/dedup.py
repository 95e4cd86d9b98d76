"""URL-based dedup then MinHash near-dedup of crawled pages (the paper's pool preparation).

The paper says only that Common Crawl was URL-deduplicated and near-deduplicated, without the
method or its parameters. Here:
- URL dedup keeps the first page of each normalised URL (see ``normalize_url``);
- near-dedup uses datasketch MinHash over lower-cased word ``shingle_size``-grams, hashed with
  xxh32, and an LSH index with explicit (bands, rows). A page is dropped when one of its LSH
  candidates is an already-kept page whose *estimated* Jaccard is at least the threshold implied
  by the banding, (1/b)^(1/r). The extra estimate check (rather than dropping on any candidate)
  removes the banding's false positives at the cost of a few borderline misses.
Pages are processed in input order, so the first page of a cluster is the one kept.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import xxhash
from datasketch import MinHash, MinHashLSH

from data_selection.config import DedupConfig

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


def _url_dedup(pages: Iterable[dict]) -> tuple[list[dict], int]:
    seen: set[str] = set()
    kept: list[dict] = []
    dropped = 0
    for page in pages:
        key = normalize_url(page["url"])
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(page)
    return kept, dropped


def _near_dedup(pages: list[dict], cfg: DedupConfig, seed: int) -> tuple[list[dict], int, int]:
    """Return (kept, near-duplicate drops, drops whose ground-truth cluster did not match)."""
    minhashes = MinHash.bulk(
        [shingles(p["text"], cfg.shingle_size) for p in pages],
        num_perm=cfg.num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest,
    )
    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    threshold = cfg.threshold
    kept: list[dict] = []
    dropped = mismatched = 0
    for idx, (page, mh) in enumerate(zip(pages, minhashes)):
        match = next((c for c in sorted(lsh.query(mh)) if minhashes[c].jaccard(mh) >= threshold), None)
        if match is None:
            lsh.insert(idx, mh)
            kept.append(page)
            continue
        dropped += 1
        cluster = page.get("dup_cluster")
        if cluster is None or pages[match].get("dup_cluster") != cluster:
            mismatched += 1
    return kept, dropped, mismatched


def _clusters_collapsed(before: list[dict], after: list[dict]) -> tuple[int, float]:
    clusters = {p["dup_cluster"] for p in before if p.get("dup_cluster") is not None}
    if not clusters:
        return 0, 1.0
    kept_counts: dict[int, int] = {}
    for page in after:
        if page.get("dup_cluster") is not None:
            kept_counts[page["dup_cluster"]] = kept_counts.get(page["dup_cluster"], 0) + 1
    collapsed = sum(1 for c in clusters if kept_counts.get(c, 0) == 1)
    return len(clusters), collapsed / len(clusters)


def dedup(pages: Iterable[dict], cfg: DedupConfig, seed: int) -> tuple[list[dict], dict]:
    """Exact-URL dedup, then MinHash near-dedup; return (kept pages, counts).

    Kept pages are new dicts (inputs are not mutated), in input order. Counts: input,
    url_duplicates, near_duplicates, kept, threshold, and ground-truth checks
    near_dup_clusters (clusters in the input), near_dup_clusters_collapsed (fraction of those
    ending with exactly one page kept) and near_duplicates_unclustered (drops of pages not in
    the matched page's cluster: false positives against ground truth).
    """
    items = list(pages)
    after_url, url_dropped = _url_dedup(items)
    after_near, near_dropped, mismatched = _near_dedup(after_url, cfg, seed) if after_url else ([], 0, 0)
    n_clusters, collapsed = _clusters_collapsed(items, after_near)
    stats = {
        "input": len(items),
        "url_duplicates": url_dropped,
        "near_duplicates": near_dropped,
        "kept": len(after_near),
        "threshold": round(cfg.threshold, 4),
        "near_dup_clusters": n_clusters,
        "near_dup_clusters_collapsed": collapsed,
        "near_duplicates_unclustered": mismatched,
    }
    return [dict(p) for p in after_near], stats
