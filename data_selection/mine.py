"""Iterative math-page mining (DeepSeekMath §2.1): classifier, top-N cut, domain discovery, rounds.

Each round: train fastText with positives sampled from the (growing) seed corpus and negatives
sampled from the pool (random crawl pages, math included, as in the paper); score every pool
page (sharded, on the configured executor); rank; keep the top ``top_tokens`` tokens (the
paper's 40B). Then domains with more than ``domain_ratio`` of their pages collected are
math-related; their URL path prefixes are proposed with their collected ratio; accepted paths
(annotation file, or the automatic rule) send their uncollected pages into the seed for the
next round. Up to ``max_rounds`` rounds; stop early once at least ``stop_overlap`` of a round's
collection was already collected in the previous round. The output is the last round's
collection.

Departures: tokens are whitespace words; the pool's metadata (URL, host, token count, ground
truth) is held per page as compact lists/arrays while texts stay on disk and are streamed
(scoring by shard; training texts fetched by index); the cut is tuned to the synthetic world's
math mass (the paper chose 40B by ablation). Ties in the ranking are broken by URL.
Ground truth (``is_math``, ``kind``), when the pool has it, scores every round.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from data_selection.classifier import score_shard, train_classifier
from data_selection.config import MineConfig
from data_selection.dedup import valid_page
from data_selection.discovery import accept, discover_domains, host_of, path_prefix, propose_paths
from data_selection.executors import ExecutorConfig, run_shards
from data_selection.shards import Shard, iter_shard, iter_shards


@dataclass
class PoolMeta:
    """Per-page metadata of the pool, in input order; no page text."""

    urls: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    is_math: list[bool | None] = field(default_factory=list)  # None: no ground truth
    kinds: list[str | None] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def scan_shard(shard: Shard) -> PoolMeta:
    """Shard function: metadata of the shard's valid pages (invalid ones counted)."""
    meta = PoolMeta()
    for page in iter_shard(shard, meta.skipped):
        if not valid_page(page):
            meta.skipped["missing_url_or_text"] += 1
            continue
        meta.urls.append(page["url"])
        meta.tokens.append(len(page["text"].split()))
        truth = page.get("is_math")
        meta.is_math.append(bool(truth) if isinstance(truth, bool) else None)
        meta.kinds.append(page.get("kind") if isinstance(page.get("kind"), str) else None)
    return meta


def merge_meta(parts: list[PoolMeta]) -> PoolMeta:
    out = PoolMeta()
    for part in parts:
        out.urls += part.urls
        out.tokens += part.tokens
        out.is_math += part.is_math
        out.kinds += part.kinds
        out.skipped.update(part.skipped)
    return out


def fetch_texts(shards: list[Shard], ids: set[int]) -> dict[int, str]:
    """Texts of the valid pages with the given global indices (one streaming pass)."""
    out: dict[int, str] = {}
    valid = (p for p in iter_shards(shards, Counter()) if valid_page(p))
    for i, page in enumerate(valid):
        if i in ids:
            out[i] = page["text"]
    return out


def top_tokens_cut(urls: list[str], tokens: list[int], scores: np.ndarray, budget: int) -> list[int]:
    """Indices ranked by score (ties by URL), taken while the token total stays within ``budget``.

    The first page is always taken, so a budget below one page still collects something.
    """
    order = sorted(range(len(urls)), key=lambda i: (-scores[i], urls[i], i))
    kept: list[int] = []
    total = 0
    for i in order:
        if kept and total + tokens[i] > budget:
            break
        kept.append(i)
        total += tokens[i]
    return kept


def truth_metrics(meta: PoolMeta, collected: set[int]) -> dict:
    """Recall and precision against ground truth, overall and per math kind (empty without it)."""
    if not meta.is_math or any(t is None for t in meta.is_math):
        return {}
    math_ids = {i for i, t in enumerate(meta.is_math) if t}
    hits = len(math_ids & collected)
    out: dict = {"recall": hits / len(math_ids) if math_ids else 0.0,
                 "precision": hits / len(collected) if collected else 0.0}
    for kind in sorted({meta.kinds[i] for i in math_ids if meta.kinds[i]}):
        of_kind = {i for i in math_ids if meta.kinds[i] == kind}
        out[f"recall_{kind}"] = len(of_kind & collected) / len(of_kind)
        out[f"share_{kind}"] = len(of_kind & collected) / len(collected) if collected else 0.0
    return out


@dataclass
class MiningResult:
    """Last round's collection (ranked pool indices, with scores) and one metrics dict per round."""

    collected: list[int]
    scores: np.ndarray
    rounds: list[dict]
    proposals: list[dict]
    meta: PoolMeta


def _train_round(shards: list[Shard], meta: PoolMeta, seed_texts: list[str], added: list[int],
                 cfg: MineConfig, rng: random.Random, workdir: Path, round_no: int) -> str:
    """Sample positives (grown seed) and negatives (pool), train, save; return the model path."""
    n_seed = len(seed_texts) + len(added)
    pos_ids = sorted(rng.sample(range(n_seed), min(cfg.n_positives, n_seed)))
    neg_ids = sorted(rng.sample(range(len(meta.urls)), min(cfg.n_negatives, len(meta.urls))))
    wanted = {added[i - len(seed_texts)] for i in pos_ids if i >= len(seed_texts)} | set(neg_ids)
    texts = fetch_texts(shards, wanted)
    positives = [seed_texts[i] if i < len(seed_texts) else texts[added[i - len(seed_texts)]] for i in pos_ids]
    model = train_classifier(positives, [texts[i] for i in neg_ids], cfg, rng.randrange(2**31), workdir)
    path = workdir / f"round{round_no}.bin"
    model.save_model(str(path))
    return str(path)


def _discover(meta: PoolMeta, collected: set[int], cfg: MineConfig,
              annotation: tuple[str, ...] | None) -> tuple[list[str], list, list]:
    hosts = [host_of(u) for u in meta.urls]
    prefixes = [path_prefix(u, cfg.path_depth) for u in meta.urls]
    hit = [i in collected for i in range(len(meta.urls))]
    domains = discover_domains(hosts, hit, cfg.domain_ratio)
    proposals = propose_paths(hosts, prefixes, hit, domains)
    accepted = accept(proposals, annotation, cfg.path_accept_ratio)
    keys = {p.key for p in accepted}
    new_seed = [i for i in range(len(meta.urls)) if not hit[i] and f"{hosts[i]}{prefixes[i]}" in keys]
    return domains, proposals, [accepted, new_seed]


def mine_rounds(shards: list[Shard], seed_texts: list[str], cfg: MineConfig, seed: int,
                executor: ExecutorConfig, workdir: Path, annotation: tuple[str, ...] | None) -> MiningResult:
    """Run the rounds over the pool in ``shards``; see the module docstring."""
    if not seed_texts:
        raise ValueError("seed_pages: no seed pages to train on")
    meta = merge_meta(run_shards(scan_shard, shards, (), executor))
    if not meta.urls:
        raise ValueError("pool: no pages to mine")
    rng = random.Random(seed)
    added: list[int] = []
    rounds: list[dict] = []
    proposals_log: list[dict] = []
    previous: set[int] | None = None
    for round_no in range(1, cfg.max_rounds + 1):
        model_path = _train_round(shards, meta, seed_texts, added, cfg, rng, workdir, round_no)
        scores = np.concatenate(run_shards(score_shard, shards, (model_path,), executor))
        order = top_tokens_cut(meta.urls, meta.tokens, scores, cfg.top_tokens)
        collected = set(order)
        overlap = len(collected & previous) / len(collected) if previous is not None else 0.0
        domains, proposals, (accepted, new_seed) = _discover(meta, collected, cfg, annotation)
        already = set(added)
        fresh = [i for i in new_seed if i not in already]
        added += fresh
        accepted_keys = {p.key for p in accepted}
        proposals_log += [{"round": round_no, "path": p.key, "pages": p.pages, "collected": p.collected,
                           "ratio": round(p.ratio, 4), "accepted": p.key in accepted_keys} for p in proposals]
        rounds.append({"round": round_no, "pages": len(order), "tokens": sum(meta.tokens[i] for i in order),
                       "overlap_prev": overlap, "domains_discovered": len(domains),
                       "paths_proposed": len(proposals), "paths_accepted": len(accepted),
                       "seed_added": len(fresh), "seed_size": len(seed_texts) + len(added),
                       **truth_metrics(meta, collected)})
        previous = collected
        if round_no > 1 and overlap >= cfg.stop_overlap:
            break
    return MiningResult(order, scores, rounds, proposals_log, meta)


def collected_pages(shards: list[Shard], result: MiningResult) -> Iterator[dict]:
    """Stream the last round's collection in pool order, each page with its ``score``."""
    keep = set(result.collected)
    valid = (p for p in iter_shards(shards, Counter()) if valid_page(p))
    for i, page in enumerate(valid):
        if i in keep:
            yield {**page, "score": float(result.scores[i])}
