"""Benchmark decontamination by exact token n-gram match (paper §2.1), with documented departures.

Paper: any text segment with a 10-gram exact match to a substring of a benchmark question or
answer is removed; benchmark texts shorter than 10 grams but at least 3 grams are matched exactly.

Items (``benchmark_items``): each benchmark record's question, solution and final answer.
Normalisation (``tokenize_for_match``): lower-case, split on every run of characters that are not
letters or digits, drop empty tokens; so "x^2+1=5," and "X ^ 2 + 1 = 5" match, and punctuation and
LaTeX markup carry no weight. The rule (``DecontaminateConfig``):
  - a text of at least ``ngram`` (10) tokens is a candidate for a page that shares one of its
    ``ngram``-token windows, and contaminates it when the page reproduces at least
    ``min_coverage`` of its tokens in place (``aligned_share``: tokens in runs of at least
    ``min_ngram`` tokens equal to the page's at the offset of a shared window);
  - windows found in at least ``boilerplate_df`` distinct benchmark texts are boilerplate: they
    neither make a candidate nor count in the share (unless a text has nothing else);
  - a text of ``min_ngram`` .. ``ngram - 1`` tokens contaminates a page containing it whole, as a
    contiguous token run (the paper's short-text rule);
  - shorter texts are skipped and counted (a bare "12" would remove every page with that number);
  - final answers (field ``answer``) are matched only when ``match_answers`` is true.
The paper's rule is ``min_coverage: 0.0, boilerplate_df: 0, match_answers: true``
(``DecontaminateConfig.paper()``): any one shared 10-gram, answers included.

Why (``bench/decontamination.py``: 3,000 clean pages, GSM8K and MATH *train* problems with their
solutions, half each, against GSM8K test, MATH test and MATH-500; 600 planted pages quoting the
question or the solution of 100 test records per benchmark inside filler text): the paper's rule
removed 32.5% of the clean pages (all 14,946 train problems: 32.8%), this rule 1.3% (1.1%), both
with planted recall 1.0. Against GSM8K test + MATH-500 only: 14.2% and 0.3%.

Departure 1, ``match_answers: false``: a bare final answer is not a benchmark text. Matched whole,
MATH's 3-9-token answers (``\\frac{1}{2}``, ``2 \\sqrt{5}``) are everyday mathematics: they alone
removed 668 of the 3,000 clean pages (and 123 of the synthetic world's 712 clean math pages).
Nothing real is lost: a MATH answer is the last ``\\boxed{}`` of its solution and a GSM8K answer
is one number, so a page reproducing a solution is caught by the solution.

Departure 2, ``min_coverage: 0.9``: one shared 10-gram is not evidence that a page holds a
benchmark text. MATH's splits share stock phrases and figure code, so without answers the
single-window rule still removed 19.7% of the clean pages, nearly all different problems sharing
a phrase. A page quoting a test problem or solution scores 1.0; a quote with one word rewritten
(the synthetic world's mirrors) about 0.96, where the union of shared windows alone can score 0.6
(the short side of the edit is uncovered); a MATH train problem that is a test problem with one
constant changed also scores about 0.95 and is removed as a near-duplicate. Of the 161 removals
among all train problems, 117 are such variants (a test statement at token similarity >= 0.9,
another answer), 11 have a test statement and its final answer, 33 share most of a test
solution or statement. The price: a genuine duplicate paraphrased or reformatted below 0.9 is
kept: by inspection 3 of the 10 in MATH train (train/precalculus/8014 ~ test/precalculus/798 at
0.89, train/geometry/6086 ~ test/geometry/507 at 0.82, train/intermediate_algebra/1138 ~
test/algebra/77 at 0.77), which the paper's rule removes. 0.85 keeps one fewer for 2.1% removed
of the 3,000 instead of 1.3%.

Departure 3, ``boilerplate_df: 3``: Asymptote preambles and answer-format instructions ("(A) Line
(B) Circle ... Enter the letter of the correct option") recur across MATH test records; as
evidence they make any page with the same figure preamble a near-copy of a graph problem. 3,500
of the 704,801 windows of the three benchmarks are in three or more distinct texts (MATH-500
repeats MATH and counts once). Measured: 48 -> 38 clean removals of the 3,000 at the same recall.

Departure 4: the unit removed is the whole page, not the matching text segment: the pool's pages
are short and a page quoting a test problem is contaminated as a whole.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from data_selection.benchmark_items import BenchmarkItem
from data_selection.config import DecontaminateConfig

_SPLIT_RE = re.compile(r"[^0-9a-z]+")
NGRAM, SHORT = "ngram", "short"  # the two ways an item can hit (Hit.rule)
UNNAMED_PAGE_SOURCE = "synthetic"  # pages without a `source` field are the synthetic world's


def tokenize_for_match(text: str) -> list[str]:
    """Lower-cased alphanumeric runs of ``text`` (see the module docstring)."""
    # Lower-case first so the ASCII class above also covers upper-case letters; non-ASCII
    # letters split tokens, which is acceptable for these (English) benchmarks.
    return [tok for tok in _SPLIT_RE.split(text.lower()) if tok]


@dataclass
class ContaminationIndex:
    """Benchmark texts by how they are matched: long ones by window, short ones whole."""

    ngram: int
    items: list[BenchmarkItem] = field(default_factory=list)  # indexed items (the ids below point here)
    # hash(window) -> window id: a hash, not the 10-tuple, to keep the index small (about a third);
    # a collision can only propose a candidate, whose tokens ``aligned_share`` then compares.
    windows: dict[int, int] = field(default_factory=dict)
    # Window id -> first item holding it; the windows held by several items list the rest.
    window_item: array = field(default_factory=lambda: array("l"))
    window_more: dict[int, list[int]] = field(default_factory=dict)
    item_windows: dict[int, array] = field(default_factory=dict)  # long item -> its window ids, in order
    item_tokens: dict[int, tuple[str, ...]] = field(default_factory=dict)  # long item -> its tokens
    boilerplate: set[int] = field(default_factory=set)  # window ids in >= boilerplate_df distinct texts
    all_boilerplate: set[int] = field(default_factory=set)  # long items with no other window: all count
    short: dict[int, dict[tuple[str, ...], list[int]]] = field(default_factory=dict)  # length -> run -> items
    records: dict[str, set[str]] = field(default_factory=dict)  # benchmark -> record ids
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # benchmark -> items by treatment


def build_index(items: Iterable[BenchmarkItem], cfg: DecontaminateConfig) -> ContaminationIndex:
    """Index benchmark items under ``cfg``; every item is counted under how it is matched."""
    index = ContaminationIndex(ngram=cfg.ngram)
    text_ids: dict[tuple[str, ...], int] = {}  # identical texts (MATH-500 is inside MATH) count once
    item_text: list[int] = []
    for item in items:
        index.records.setdefault(item.source, set()).add(item.record_id)
        counts = index.counts.setdefault(item.source, Counter())
        counts["items"] += 1
        if item.field == "answer" and not cfg.match_answers:
            counts["items_answer_not_matched"] += 1
            continue
        tokens = tuple(sys.intern(tok) for tok in tokenize_for_match(item.text))  # one copy of each string
        if len(tokens) < cfg.min_ngram:
            counts["items_too_short"] += 1
            continue
        k = len(index.items)
        index.items.append(item)
        item_text.append(text_ids.setdefault(tokens, len(text_ids)))
        if len(tokens) < cfg.ngram:
            counts["items_short_exact"] += 1
            index.short.setdefault(len(tokens), {}).setdefault(tokens, []).append(k)
            continue
        counts["items_ngram"] += 1
        index.item_windows[k] = _add_windows(index, tokens, k)
        index.item_tokens[k] = tokens
    if cfg.boilerplate_df:
        _mark_boilerplate(index, item_text, cfg.boilerplate_df)
    return index


def _add_windows(index: ContaminationIndex, tokens: tuple[str, ...], k: int) -> array:
    n = index.ngram
    ids = array("l")
    for start in range(len(tokens) - n + 1):
        key = hash(tokens[start:start + n])
        wid = index.windows.get(key)
        if wid is None:
            wid = index.windows[key] = len(index.window_item)
            index.window_item.append(k)
        elif index.window_item[wid] != k and k not in index.window_more.get(wid, ()):
            index.window_more.setdefault(wid, []).append(k)
        ids.append(wid)
    return ids


def _mark_boilerplate(index: ContaminationIndex, item_text: list[int], min_texts: int) -> None:
    """Windows found in at least ``min_texts`` distinct benchmark texts; items left with no other."""
    for wid, more in index.window_more.items():
        if len({item_text[k] for k in (index.window_item[wid], *more)}) >= min_texts:
            index.boilerplate.add(wid)
    for k, ids in index.item_windows.items():
        if all(wid in index.boilerplate for wid in ids):
            index.all_boilerplate.add(k)
            index.counts[index.items[k].source]["items_ngram_all_boilerplate"] += 1


@dataclass(frozen=True)
class Hit:
    """A benchmark item that contaminates a page, how (``ngram`` or ``short``), and how much of it."""

    item: BenchmarkItem
    rule: str
    coverage: float  # share of the item's counted tokens the page reproduces (``aligned_share``); 1.0 if short


def counted_positions(window_ids: Iterable[int], ngram: int, ignored: set[int] | frozenset = frozenset()) -> list[bool]:
    """Per token of an item: is it inside at least one of its windows not in ``ignored``?

    Window i spans tokens i .. i + ngram - 1.
    """
    ids = list(window_ids)
    counted = [False] * (len(ids) + ngram - 1)
    for start, wid in enumerate(ids):
        if wid not in ignored:
            counted[start:start + ngram] = [True] * ngram
    return counted


def aligned_share(item: Sequence[str], page: Sequence[str], offsets: Iterable[int], counted: Sequence[bool],
                  min_run: int) -> float:
    """Share of the counted positions of ``item`` that the page reproduces in place: position i
    counts when, for some offset d in ``offsets``, it lies in a run of at least ``min_run``
    consecutive item tokens equal to the page's tokens shifted by d. 0.0 when nothing is counted.

    Offsets come from windows the two share. Unlike the union of shared windows, this tolerates
    edits: a quote with one word rewritten scores (L - 1) / L, where the shared windows alone
    leave the up to ngram - 1 tokens on the short side of the edit uncovered; a second offset
    picks up the text after an inserted or deleted token. Runs shorter than ``min_run`` are
    chance agreement ("the", "2") and do not count.
    """
    matched = [False] * len(item)
    for d in offsets:
        run = 0
        for i in range(len(item) + 1):
            j = i + d
            if i < len(item) and 0 <= j < len(page) and page[j] == item[i]:
                run += 1
                continue
            if run >= min_run:
                matched[i - run:i] = [True] * run
            run = 0
    total = sum(counted)
    return sum(m and c for m, c in zip(matched, counted)) / total if total else 0.0


def find_hits(page_text: str, index: ContaminationIndex, cfg: DecontaminateConfig) -> list[Hit]:
    """Every item contaminating the page under ``cfg``, best first (coverage, then input order).

    A long item is a candidate when the page shares one of its windows that is not boilerplate
    (or any window, for an item with nothing else); its coverage is its ``aligned_share`` at the
    offsets of those shared windows, with runs of at least ``min_ngram`` tokens.
    """
    tokens = tokenize_for_match(page_text)
    n = index.ngram
    page_at: dict[int, list[int]] = {}  # window id -> its start positions in the page
    for start in range(len(tokens) - n + 1):
        wid = index.windows.get(hash(tuple(tokens[start:start + n])))
        if wid is not None:
            page_at.setdefault(wid, []).append(start)
    candidates: set[int] = set()
    for wid in page_at:
        holders = (index.window_item[wid], *index.window_more.get(wid, ()))
        # A boilerplate window is evidence only for the items that have nothing else.
        candidates.update(k for k in holders if wid not in index.boilerplate or k in index.all_boilerplate)
    scored: dict[int, tuple[str, float]] = {}
    for k in candidates:
        ignored = frozenset() if k in index.all_boilerplate else index.boilerplate
        windows = index.item_windows[k]
        offsets = {p - i for i, wid in enumerate(windows) if wid in page_at and wid not in ignored
                   for p in page_at[wid]}
        counted = counted_positions(windows, n, ignored)
        share = aligned_share(index.item_tokens[k], tokens, offsets, counted, cfg.min_ngram)
        if share > 0 and share >= cfg.min_coverage:  # min_coverage 0: any shared window (the paper)
            scored[k] = (NGRAM, share)
    for length, table in index.short.items():
        for start in range(len(tokens) - length + 1):
            for k in table.get(tuple(tokens[start:start + length]), ()):
                scored[k] = (SHORT, 1.0)
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return [Hit(index.items[k], rule, share) for k, (rule, share) in ranked]


def page_source(page: dict) -> str:
    """The page's `source` (crawl file name, or a problem set's name); "synthetic" when absent."""
    source = page.get("source")
    return str(source) if source else UNNAMED_PAGE_SOURCE


def problem_pages(problems: Iterable[dict]) -> list[dict]:
    """Normalised problems (``inputs.problems`` layout) as pages for ``decontaminate``.

    ``url`` is the problem id, ``text`` its question and solution, ``source`` its problem set.
    """
    return [{"url": p["id"], "text": f"{p['question']}\n{p['solution']}", "source": p["source"]} for p in problems]


class Screen:
    """Streaming decontamination: `kept(pages)` yields the clean pages one by one while removal
    records and counts accumulate, so a corpus of any size passes in bounded memory (removal
    records grow with the contamination found, not with the corpus)."""

    def __init__(self, items: Iterable[BenchmarkItem], cfg: DecontaminateConfig) -> None:
        self.cfg = cfg
        self.index = build_index(items, cfg)
        self.removed: list[dict] = []
        self.n_kept = 0
        self.truth = _GroundTruth()

    def kept(self, pages: Iterable[dict]) -> Iterator[dict]:
        """The pages no benchmark item hits, as copies, in input order."""
        for page in pages:
            hits = find_hits(page["text"], self.index, self.cfg)
            self.truth.see(page, caught=bool(hits))
            if not hits:
                self.n_kept += 1
                yield dict(page)
                continue
            best = hits[0]
            self.removed.append({"url": page["url"], "source": page_source(page), "benchmark_id_hit": best.item.id,
                                 "field": best.item.field, "rule": best.rule, "coverage": round(best.coverage, 4),
                                 "benchmarks": sorted({h.item.source for h in hits})})

    def stats(self) -> dict:
        return _stats(self.index, self.cfg, self.n_kept, self.removed, self.truth)


def decontaminate(pages: Iterable[dict], items: Iterable[BenchmarkItem],
                  cfg: DecontaminateConfig) -> tuple[list[dict], list[dict], dict]:
    """Drop pages contaminated by benchmark items; return (kept pages, removal records, stats).

    Pages are dicts with ``url`` and ``text`` (and optionally ``source``, ``is_math``,
    ``benchmark_id``); kept pages are copies. A removal record is ``{"url", "source",
    "benchmark_id_hit", "field", "rule", "coverage", "benchmarks"}``: the best hit, and every
    benchmark that hit the page. See ``_stats`` for the counts. ``Screen`` is the streaming form.
    """
    screen = Screen(items, cfg)
    kept = list(screen.kept(pages))
    return kept, screen.removed, screen.stats()


@dataclass
class _GroundTruth:
    """Counts only pages that carry ground truth can give (the synthetic world's, or a bench's)."""

    by_source: Counter[str] = field(default_factory=Counter)
    planted_in: int = 0
    planted_removed: int = 0
    clean_math: int = 0
    clean_math_removed: int = 0
    items_in: set[str] = field(default_factory=set)
    items_caught: set[str] = field(default_factory=set)

    def see(self, page: dict, caught: bool) -> None:
        self.by_source[page_source(page)] += 1
        planted = page.get("benchmark_id")
        if planted is not None:
            self.planted_in += 1
            self.planted_removed += caught
            self.items_in.add(planted)
            if caught:
                self.items_caught.add(planted)
        elif page.get("is_math"):
            self.clean_math += 1
            self.clean_math_removed += caught


def _stats(index: ContaminationIndex, cfg: DecontaminateConfig, n_kept: int, removed: list[dict],
           truth: _GroundTruth) -> dict:
    """Counts: the rule, what was checked against (per benchmark), removals per benchmark (a page
    counts under every benchmark that hit it: MATH-500 is a subset of MATH), per best-hit rule and
    field, per page source (with the input per source), and the ground-truth checks."""
    n_input = n_kept + len(removed)
    by_benchmark = Counter(b for r in removed for b in r["benchmarks"])
    return {
        "input": n_input,
        "kept": n_kept,
        "removed": len(removed),
        "rule": {"ngram": cfg.ngram, "min_ngram": cfg.min_ngram, "min_coverage": cfg.min_coverage,
                 "boilerplate_df": cfg.boilerplate_df, "match_answers": cfg.match_answers},
        "benchmark_records": {b: len(ids) for b, ids in sorted(index.records.items())},
        "benchmark_items": {b: dict(sorted(c.items())) for b, c in sorted(index.counts.items())},
        "boilerplate_windows": len(index.boilerplate),
        "removed_by_benchmark": dict(sorted(by_benchmark.items())),
        "removed_by_rule": dict(sorted(Counter(r["rule"] for r in removed).items())),
        "removed_by_field": dict(sorted(Counter(r["field"] for r in removed).items())),
        "input_by_page_source": dict(sorted(truth.by_source.items())),
        "removed_by_page_source": dict(sorted(Counter(r["source"] for r in removed).items())),
        "planted_in_input": truth.planted_in,
        "planted_removed": truth.planted_removed,
        "planted_recall": truth.planted_removed / truth.planted_in if truth.planted_in else 1.0,
        "removed_unplanted": len(removed) - truth.planted_removed,
        "planted_items_in_input": len(truth.items_in),
        "planted_items_caught": len(truth.items_caught),
        "clean_math_in_input": truth.clean_math,
        "clean_math_removed": truth.clean_math_removed,
        "clean_math_removed_rate": truth.clean_math_removed / truth.clean_math if truth.clean_math else 0.0,
    }
