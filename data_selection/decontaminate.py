"""Benchmark decontamination by exact token n-gram match (paper section 2.1).

The paper removes any text segment with a 10-gram exact match to a substring of a benchmark
question or answer, and matches benchmark texts shorter than 10 grams (but at least 3) exactly.
Here each benchmark question and each answer is its own item; an item with >= ``ngram`` tokens
contributes all its ``ngram``-token windows, an item with ``min_ngram``..``ngram - 1`` tokens is
matched only as a whole contiguous token sequence, and shorter items are skipped and counted
(e.g. a bare final answer "12" would otherwise remove every page containing that number).

Normalisation (``tokenize_for_match``): lower-case, split on every run of characters that are
not letters or digits, drop empty tokens. So "x^2+1=5," and "X ^ 2 + 1 = 5" match; punctuation
and LaTeX markup carry no weight.

Departure: the unit removed is the whole page, not the matching text segment: the pool's pages
are short and a page quoting a test problem is contaminated as a whole.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from data_selection.config import DecontaminateConfig

_SPLIT_RE = re.compile(r"[^0-9a-z]+")


def tokenize_for_match(text: str) -> list[str]:
    """Lower-cased alphanumeric runs of ``text`` (see the module docstring)."""
    # Lower-case first so the ASCII class above also covers upper-case letters; non-ASCII
    # letters split tokens, which is acceptable for these (English) benchmarks.
    return [tok for tok in _SPLIT_RE.split(text.lower()) if tok]


@dataclass
class ContaminationIndex:
    """Benchmark n-grams and short whole sequences, each mapped to the first item id holding it."""

    ngram: int
    long: dict[tuple[str, ...], str] = field(default_factory=dict)  # ngram-token window -> item id
    short: dict[int, dict[tuple[str, ...], str]] = field(default_factory=dict)  # length -> sequence -> id
    n_items: int = 0
    n_long_items: int = 0
    n_short_items: int = 0
    n_skipped_items: int = 0  # fewer than min_ngram tokens: not matchable without false hits


def build_index(items: Iterable[tuple[str, str]], cfg: DecontaminateConfig) -> ContaminationIndex:
    """Index (item_id, text) pairs; the first item to claim an n-gram keeps it (stable ids)."""
    index = ContaminationIndex(ngram=cfg.ngram)
    for item_id, text in items:
        index.n_items += 1
        tokens = tokenize_for_match(text)
        if len(tokens) >= cfg.ngram:
            index.n_long_items += 1
            for start in range(len(tokens) - cfg.ngram + 1):
                index.long.setdefault(tuple(tokens[start:start + cfg.ngram]), item_id)
        elif len(tokens) >= cfg.min_ngram:
            index.n_short_items += 1
            index.short.setdefault(len(tokens), {}).setdefault(tuple(tokens), item_id)
        else:
            index.n_skipped_items += 1
    return index


def find_contamination(page_text: str, index: ContaminationIndex) -> str | None:
    """Id of a benchmark item the page overlaps, or None.

    A hit is any ``ngram``-token window of the page found in the index, or any short benchmark
    sequence appearing as a contiguous token run of the page; the earliest window wins.
    """
    tokens = tokenize_for_match(page_text)
    tables = ([(index.ngram, index.long)] if index.long else []) + sorted(index.short.items())
    for start in range(len(tokens)):
        for length, table in tables:
            if start + length <= len(tokens):
                hit = table.get(tuple(tokens[start:start + length]))
                if hit is not None:
                    return hit
    return None


def decontaminate(pages: Iterable[dict], items: Iterable[tuple[str, str]],
                  cfg: DecontaminateConfig) -> tuple[list[dict], list[dict], dict]:
    """Drop pages overlapping benchmark items; return (kept pages, removal records, counts).

    Removal records are ``{"url", "benchmark_id_hit"}``. Counts include the index sizes, removals
    per benchmark (the part of an item id before "|", see ``benchmark_items``), and ground-truth
    checks: planted pages and distinct planted items in the input and removed, and clean math
    pages (``is_math`` and not planted) removed, the false positives that cost corpus.
    """
    index = build_index(items, cfg)
    kept: list[dict] = []
    removed: list[dict] = []
    n_input = planted_in = planted_removed = clean_math = clean_math_removed = 0
    items_in: set[str] = set()
    items_caught: set[str] = set()
    for page in pages:
        n_input += 1
        planted = page.get("benchmark_id") is not None
        planted_in += planted
        clean = bool(page.get("is_math")) and not planted
        clean_math += clean
        if planted:
            items_in.add(page["benchmark_id"])
        hit = find_contamination(page["text"], index)
        if hit is None:
            kept.append(dict(page))
            continue
        removed.append({"url": page["url"], "benchmark_id_hit": hit})
        planted_removed += planted
        clean_math_removed += clean
        if planted:
            items_caught.add(page["benchmark_id"])
    by_benchmark = Counter(r["benchmark_id_hit"].split("|", 1)[0] if "|" in r["benchmark_id_hit"] else "benchmark"
                           for r in removed)
    stats = {
        "input": n_input,
        "kept": len(kept),
        "removed": len(removed),
        "benchmark_items": index.n_items,
        "benchmark_items_ngram": index.n_long_items,
        "benchmark_items_short_exact": index.n_short_items,
        "benchmark_items_too_short": index.n_skipped_items,
        "planted_in_input": planted_in,
        "planted_removed": planted_removed,
        "planted_recall": planted_removed / planted_in if planted_in else 1.0,
        "removed_unplanted": len(removed) - planted_removed,
        "removed_by_benchmark": dict(sorted(by_benchmark.items())),
        "planted_items_in_input": len(items_in),
        "planted_items_caught": len(items_caught),
        "clean_math_in_input": clean_math,
        "clean_math_removed": clean_math_removed,
        "clean_math_removed_rate": clean_math_removed / clean_math if clean_math else 0.0,
    }
    return kept, removed, stats
