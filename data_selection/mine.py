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

Departures: tokens are whitespace words; the cut is tuned to the synthetic world's math mass
(the paper chose 40B by ablation). Ties in the ranking are broken by URL. Ground truth
(``is_math``, ``kind``), when the pool has it, scores every round.

No process holds per-page state of the whole pool. Shard workers keep it in a work directory
(on a Ray cluster, storage every node sees): the pages' facts (``pool_stats``), each round's
scores and sorted runs (``ranking``), the seed pages each round added. The driver keeps per-shard
counts, the merge of the runs for the cut, the (host, prefix) counts for discovery, and the few
thousand training texts of a round. Each round makes four passes over the shards: fetch the
training texts, score and sort, count, grow the seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import polars as pl

from data_selection.classifier import load_model, score, train_classifier
from data_selection.config import MineConfig
from data_selection.dedup import valid_page
from data_selection.discovery import Proposal, accept, discover_domains, merge_counts, proposal_frame, propose_paths
from data_selection.executors import ExecutorConfig, PeakRss, run_shards
from data_selection.pool_stats import (
    RoundCounts,
    agg_path,
    hit_mask,
    load_meta,
    round_stats_shard,
    scan_shard,
    truth_metrics,
)
from data_selection.ranking import Cut, read_run, run_path, top_tokens_cut, write_run
from data_selection.shard_arrays import PageIndex, array_path, concat_atomic, load_array, save_array
from data_selection.shards import Shard, iter_shard


@dataclass(frozen=True)
class Pool:
    """The scanned pool: shards, where their files are, and the global numbering of valid pages."""

    shards: tuple[Shard, ...]
    workdir: str
    index: PageIndex
    skipped: Counter[str]


def scan_pool(shards: list[Shard], cfg: MineConfig, executor: ExecutorConfig, workdir: str | Path,
              peak: PeakRss | None = None) -> Pool:
    workdir = str(workdir)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    summaries = run_shards(scan_shard, list(enumerate(shards)), (cfg.path_depth, workdir), executor, peak,
                           "mine: scan pool")
    skipped: Counter[str] = Counter()
    for s in summaries:
        skipped.update(s.skipped)
    return Pool(tuple(shards), workdir, PageIndex.from_counts([s.n_valid for s in summaries]), skipped)


def score_shard_run(item: tuple[int, Shard], model_path: str, round_no: int, workdir: str) -> int:
    """Shard worker: P(math) of the shard's valid pages, saved with the shard's sorted run; page count."""
    index, shard = item
    urls: list[str] = []
    texts: list[str] = []
    for page in iter_shard(shard, Counter()):
        if valid_page(page):
            urls.append(page["url"])
            texts.append(page["text"])
    scores = score(load_model(model_path), texts)
    write_run(workdir, round_no, index, scores, urls, load_meta(workdir, index, ["tokens"])["tokens"].to_list())
    return len(urls)


def fetch_texts_shard(item: tuple[Shard, tuple[int, ...]]) -> list[str]:
    """Shard worker: the texts of the shard's valid pages with the given (sorted) local indices."""
    shard, wanted = item
    out: list[str] = []
    valid = (p for p in iter_shard(shard, Counter()) if valid_page(p))
    targets = iter(wanted)
    target = next(targets, None)
    for local, page in enumerate(valid):
        if target is None:
            break
        if local == target:
            out.append(page["text"])
            target = next(targets, None)
    return out


def fetch_texts(pool: Pool, gids: set[int], executor: ExecutorConfig, peak: PeakRss | None,
                desc: str = "") -> dict[int, str]:
    """Texts of the valid pages with the given global ids (one pass over the shards that hold them)."""
    ordered = np.array(sorted(gids), dtype=np.int64)
    shard_of = pool.index.shard_of(ordered)
    items, owners = [], []
    for s in np.unique(shard_of).tolist():
        mine = ordered[shard_of == s]
        items.append((pool.shards[s], tuple((mine - pool.index.offsets[s]).tolist())))
        owners.append(mine.tolist())
    texts = run_shards(fetch_texts_shard, items, (), executor, peak, desc)
    return {gid: text for ids, part in zip(owners, texts) for gid, text in zip(ids, part)}


@dataclass
class SeedGrowth:
    """Pool pages added to the seed, in the order they were added: per round, per shard, by id."""

    counts: list[list[int]]  # [round][shard] pages added

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    def gid_at(self, pool: Pool, k: int) -> int:
        """The global id of the k-th added page."""
        flat = np.cumsum([n for per_shard in self.counts for n in per_shard])
        cell = int(np.searchsorted(flat, k, side="right"))
        round_no, shard = divmod(cell, pool.index.n_shards)
        before = int(flat[cell - 1]) if cell else 0
        local = load_array(pool.workdir, f"fresh_r{round_no + 1}", shard)[k - before]
        return int(local) + pool.index.offsets[shard]


def grow_seed_shard(item: tuple[int, int], round_no: int, accepted: tuple[str, ...], workdir: str) -> int:
    """Shard worker: uncollected pages under accepted paths not added before join the seed; count.

    Writes this round's additions (``fresh_r<round>``) and the added flags after this round
    (``added_r<round>``, from the previous round's, so a retried task gives the same answer).
    """
    index, count = item
    meta = load_meta(workdir, index, ["host", "prefix"])
    n = len(meta)
    prev = array_path(workdir, f"added_r{round_no - 1}", index)
    added = np.array(load_array(workdir, f"added_r{round_no - 1}", index)) if prev.exists() else np.zeros(n, bool)
    keys = set(accepted)
    # Keys are lower-cased host + prefix; a page matches on its host (lower-case) + prefix as is.
    under = np.fromiter((f"{h}{p}" in keys for h, p in zip(meta["host"].to_list(), meta["prefix"].to_list())),
                        dtype=bool, count=n)
    fresh = under & ~hit_mask(workdir, round_no, index, count, n) & ~added
    save_array(workdir, f"fresh_r{round_no}", index, np.flatnonzero(fresh).astype(np.int64))
    save_array(workdir, f"added_r{round_no}", index, added | fresh)
    return int(np.count_nonzero(fresh))


def _train_round(pool: Pool, seed_texts: Sequence[str], growth: SeedGrowth, cfg: MineConfig, rng: random.Random,
                 round_no: int, executor: ExecutorConfig, peak: PeakRss | None) -> str:
    """Sample positives (grown seed) and negatives (pool), train, save; return the model path."""
    n_seed = len(seed_texts) + growth.total
    n_pool = pool.index.total
    pos_ids = sorted(rng.sample(range(n_seed), min(cfg.n_positives, n_seed)))
    neg_ids = sorted(rng.sample(range(n_pool), min(cfg.n_negatives, n_pool)))
    added = {i: growth.gid_at(pool, i - len(seed_texts)) for i in pos_ids if i >= len(seed_texts)}
    texts = fetch_texts(pool, set(added.values()) | set(neg_ids), executor, peak,
                        f"mine round {round_no}: training texts")
    positives = [seed_texts[i] if i < len(seed_texts) else texts[added[i]] for i in pos_ids]
    workdir = Path(pool.workdir)
    model = train_classifier(positives, [texts[i] for i in neg_ids], cfg, rng.randrange(2**31), workdir)
    path = workdir / f"round{round_no}.bin"
    model.save_model(str(path))
    return str(path)


def _cut(pool: Pool, round_no: int, budget: int) -> Cut:
    runs = [read_run(run_path(pool.workdir, round_no, s), s, pool.index.offsets[s]) for s in range(pool.index.n_shards)]
    return top_tokens_cut(runs, budget)


@dataclass(frozen=True)
class MiningResult:
    """The rounds' metrics and proposals, and where the last round's collection is on disk."""

    pool: Pool
    last_round: int
    cut: Cut  # the last round's: pages taken from each shard's run
    rounds: pl.DataFrame  # one row per round (``rounds.json``; ``mine_report.summary`` reads it)
    proposals: pl.DataFrame  # one row per proposed path per round (``proposals.json``)


def mine_rounds(shards: list[Shard], seed_texts: Sequence[str], cfg: MineConfig, seed: int,
                executor: ExecutorConfig, workdir: Path, annotation: tuple[str, ...] | None,
                peak: PeakRss | None = None) -> MiningResult:
    """Run the rounds over the pool in ``shards``; see the module docstring."""
    if not seed_texts:
        raise ValueError("seed_pages: no seed pages to train on")
    pool = scan_pool(shards, cfg, executor, workdir, peak)
    if not pool.index.total:
        raise ValueError("pool: no pages to mine")
    rng = random.Random(seed)
    growth = SeedGrowth([])
    rounds: list[dict] = []
    proposals_log: list[pl.DataFrame] = []
    previous: Cut | None = None
    for round_no in range(1, cfg.max_rounds + 1):
        model_path = _train_round(pool, seed_texts, growth, cfg, rng, round_no, executor, peak)
        run_shards(score_shard_run, list(enumerate(shards)), (model_path, round_no, pool.workdir), executor, peak,
                   f"mine round {round_no}: score")
        cut = _cut(pool, round_no, cfg.top_tokens)
        items = [(s, cut.counts[s], previous.counts[s] if previous else None) for s in range(len(shards))]
        counts = RoundCounts()
        for part in run_shards(round_stats_shard, items, (round_no, pool.workdir), executor, peak,
                               f"mine round {round_no}: count"):
            counts.add(part)
        overlap = counts.overlap / cut.pages if previous is not None else 0.0
        domains, proposals, accepted = _discover(pool, round_no, cfg, annotation)
        fresh = _grow_seed(pool, round_no, cut, accepted, executor, peak)
        growth.counts.append(fresh)
        proposals_log.append(proposal_frame(round_no, proposals, accepted))
        rounds.append({"round": round_no, "pages": cut.pages, "tokens": cut.tokens,
                       "overlap_prev": overlap, "domains_discovered": len(domains),
                       "paths_proposed": len(proposals), "paths_accepted": len(accepted),
                       "seed_added": sum(fresh), "seed_size": len(seed_texts) + growth.total,
                       **truth_metrics(counts, cut.pages)})
        previous = cut
        if round_no > 1 and overlap >= cfg.stop_overlap:
            break
    # A round's row is built as a dict while the round runs; the table of rounds is a frame.
    return MiningResult(pool, len(rounds), previous, pl.DataFrame(rounds), pl.concat(proposals_log))


def _discover(pool: Pool, round_no: int, cfg: MineConfig,
              annotation: tuple[str, ...] | None) -> tuple[list[str], list[Proposal], list[Proposal]]:
    counts = merge_counts([agg_path(pool.workdir, round_no, s) for s in range(pool.index.n_shards)])
    domains = discover_domains(counts, cfg.domain_ratio)
    proposals = propose_paths(counts, domains)
    return domains, proposals, accept(proposals, annotation, cfg.path_accept_ratio)


def _grow_seed(pool: Pool, round_no: int, cut: Cut, accepted: list[Proposal], executor: ExecutorConfig,
               peak: PeakRss | None) -> list[int]:
    keys = tuple(sorted({p.key for p in accepted}))
    items = [(s, cut.counts[s]) for s in range(pool.index.n_shards)]
    return run_shards(grow_seed_shard, items, (round_no, keys, pool.workdir), executor, peak,
                      f"mine round {round_no}: grow seed")


def write_collected_shard(item: tuple[int, Shard, int], round_no: int, workdir: str) -> int:
    """Shard worker: the shard's collected pages, in pool order, each with its ``score``, as JSON lines."""
    index, shard, count = item
    path = array_path(workdir, "parts", index).with_suffix(".jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    scores = load_array(workdir, f"score_r{round_no}", index)
    hit = hit_mask(workdir, round_no, index, count, len(scores))
    with open(path, "w", encoding="utf-8") as fh:
        valid = (p for p in iter_shard(shard, Counter()) if valid_page(p))
        for local, page in enumerate(valid):
            if hit[local]:
                fh.write(json.dumps({**page, "score": float(scores[local])}, ensure_ascii=False, sort_keys=True) + "\n")
    return count


def write_collected(result: MiningResult, out: str | Path, executor: ExecutorConfig,
                    peak: PeakRss | None = None) -> int:
    """Write the last round's collection to ``out`` (pool order, with scores), atomically; its size."""
    pool = result.pool
    items = [(s, shard, result.cut.counts[s]) for s, shard in enumerate(pool.shards)]
    written = sum(run_shards(write_collected_shard, items, (result.last_round, pool.workdir), executor, peak,
                             "mine: write collection"))
    concat_atomic([array_path(pool.workdir, "parts", s).with_suffix(".jsonl") for s in range(len(pool.shards))], out)
    return written
