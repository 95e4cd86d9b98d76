"""Decontamination against the real benchmarks: clean pages removed vs planted pages caught.

Clean pages are GSM8K and MATH *train* problems with their solutions (half each), as
``problem_pages`` makes them for the training-problem stage; planted pages quote, verbatim
inside filler text, the question or the solution of a sample of test records of each benchmark
(one page each). Both are decontaminated against GSM8K test, MATH test and MATH-500 (or the
``--benchmarks`` given) with the paper's rule, two intermediate rules and this repo's default
(``DecontaminateConfig()``), side by side, plus any ``--min-coverage`` / ``--boilerplate-df``:

  python bench/decontamination.py [--data ../shared/data] [--clean 3000] [--planted 100]
      [--benchmarks gsm8k math math500] [--min-coverage 0.8 0.85] [--boilerplate-df 2 5]

A clean page that repeats a test problem is real contamination, not a false positive. Independent
of any rule, a clean page whose question has token similarity >= 0.9 with a test question
(difflib ratio on ``tokenize_for_match`` tokens, among test questions sharing a window or a short
text with it) is a *duplicate* when that test record's final answer is also the page's, else a
*variant* (the test statement with other constants). "Duplicate" is only a flag: equal answers
can be a coincidence ("neither", "B"), so the kept ones are listed to judge by eye. Printed per
rule: clean pages removed, split into duplicates, variants and the rest (false positives);
planted recall; clean removals by cause (rule and field of the best hit); removals by benchmark
and by page source; matching throughput (pages/s once the index is built; build time apart).
"""

from __future__ import annotations

import argparse
import difflib
import random
import time
from collections import Counter
from pathlib import Path

from data_selection.benchmark_items import BenchmarkItem, read_benchmarks
from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import build_index, decontaminate, find_hits, problem_pages, tokenize_for_match
from inputs.problems import read_problems

BENCHMARKS = ("gsm8k", "math", "math500")
NEAR_DUPLICATE = 0.9  # token similarity of two questions above which they are the same problem
FILLER = ("the council met on monday to discuss the budget and the new bridge near the old market "
          "posted by a reader who asked for help with this homework thanks in advance reply quote").split()


def clean_pages(data: Path, n: int, rng: random.Random) -> list[dict]:
    """``n`` train problems with solutions, half GSM8K and half MATH, as pages."""
    pages = []
    for name, k in (("gsm8k", n // 2), ("math", n - n // 2)):
        drawn = rng.sample(read_problems(str(data / name / "train.jsonl"), name), k)
        for page, problem in zip(problem_pages(drawn), drawn):
            # `question` and `answer` are for the duplicate check only; the matcher reads `text`.
            pages.append(page | {"source": f"{name}-train", "is_math": True,
                                 "question": problem["question"], "answer": problem["answer"]})
    return pages


def planted_pages(data: Path, benchmarks: list[str], per_benchmark: int, rng: random.Random) -> list[dict]:
    """Per benchmark, ``per_benchmark`` test records; each record's question in one filler page
    and its solution in another, framed as a forum post (own lines) or inline after a heading."""
    pages = []
    for name in benchmarks:
        for rec in rng.sample(read_problems(str(data / name / "test.jsonl"), name), per_benchmark):
            for field in ("question", "solution"):
                before = " ".join(rng.choices(FILLER, k=40))
                after = " ".join(rng.choices(FILLER, k=40))
                text = (f"{before}\n{rec[field]}\n{after}" if rng.random() < 0.5
                        else f"<h1>Help</h1> {before} Problem: {rec[field]} {after}")
                pages.append({"url": f"https://forum.example/{name}/{rec['id']}/{field}", "text": text,
                              "source": "planted", "is_math": True, "benchmark_id": f"{name}|{rec['id']}"})
    return pages


def near_duplicates(pages: list[dict], items: list[BenchmarkItem]) -> dict[str, tuple[str, str]]:
    """Clean page url -> ("duplicate" or "variant", test record) when some test question is a
    near-duplicate of the page's: "duplicate" when that record's final answer is also the page's
    (the same problem, or a coincidence to judge by eye), "variant" when no such record has the
    same answer (the statement with other constants)."""
    questions = [it for it in items if it.field == "question"]
    answers = {(it.source, it.record_id): _squash(it.text) for it in items if it.field == "answer"}
    index = build_index(questions, DecontaminateConfig.paper())
    out = {}
    for page in pages:
        mine = tokenize_for_match(page["question"])
        for hit in find_hits(page["question"], index, DecontaminateConfig.paper()):
            other = tokenize_for_match(hit.item.text)
            if difflib.SequenceMatcher(None, mine, other, autojunk=False).ratio() >= NEAR_DUPLICATE:
                same = answers[(hit.item.source, hit.item.record_id)] == _squash(page["answer"])
                if same or page["url"] not in out:
                    out[page["url"]] = ("duplicate" if same else "variant", f"{hit.item.source}|{hit.item.record_id}")
    return out


def _squash(answer: str) -> str:
    return "".join(answer.split())


def run_rule(label: str, cfg: DecontaminateConfig, clean: list[dict], planted: list[dict],
             items: list[BenchmarkItem], dups: dict[str, str]) -> dict:
    t0 = time.perf_counter()
    build_index(items, cfg)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, removed, stats = decontaminate(clean + planted, items, cfg)
    t_all = time.perf_counter() - t0
    gone = {r["url"]: r for r in removed}
    clean_gone = [p for p in clean if p["url"] in gone]
    kind = {url: k for url, (k, _) in dups.items()}
    dup_gone = [p for p in clean_gone if kind.get(p["url"]) == "duplicate"]
    variant_gone = [p for p in clean_gone if kind.get(p["url"]) == "variant"]
    dup_kept = [(url, rec) for url, (k, rec) in dups.items() if k == "duplicate" and url not in gone]
    false_pos = [p for p in clean_gone if p["url"] not in dups]
    planted_caught = [p for p in planted if p["url"] in gone]
    own = [p for p in planted_caught if p["benchmark_id"].split("|")[0] in gone[p["url"]]["benchmarks"]]
    cause = Counter(f"{gone[p['url']]['rule']}:{gone[p['url']]['field']}" for p in clean_gone)
    row = {
        "label": label, "clean": len(clean), "clean_removed": len(clean_gone),
        "dup_removed": len(dup_gone), "variant_removed": len(variant_gone), "false_pos": len(false_pos),
        "planted": len(planted), "planted_caught": len(planted_caught), "planted_own_benchmark": len(own),
        "cause": dict(cause.most_common()), "by_benchmark": stats["removed_by_benchmark"],
        "by_page_source": stats["removed_by_page_source"],
        "pages_per_s": len(clean + planted) / max(t_all - t_index, 1e-9), "index_s": t_index,
        "dup_kept": dup_kept,
        "examples": [(p["url"], gone[p["url"]]["benchmark_id_hit"], gone[p["url"]]["coverage"]) for p in false_pos[:8]],
    }
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--clean", type=int, default=3000, help="clean train pages (half GSM8K, half MATH)")
    p.add_argument("--planted", type=int, default=100, help="test records planted per benchmark (x2 pages)")
    p.add_argument("--min-coverage", type=float, nargs="*", default=[], help="extra min_coverage values to sweep")
    p.add_argument("--boilerplate-df", type=int, nargs="*", default=[], help="extra boilerplate_df values to sweep")
    p.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS), choices=BENCHMARKS,
                   help="test sets to decontaminate against (and to plant)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    items, _ = read_benchmarks([args.data / b / "test.jsonl" for b in args.benchmarks])
    records = {b: len({it.record_id for it in items if it.source == b}) for b in args.benchmarks}
    print("benchmarks:", records, "records;", len(items), "items")
    clean = clean_pages(args.data, args.clean, rng)
    planted = planted_pages(args.data, args.benchmarks, args.planted, rng)
    dups = near_duplicates(clean, items)
    kinds = Counter(k for k, _ in dups.values())
    print(f"clean pages: {len(clean)}; same problem as a test record (duplicate): {kinds['duplicate']}; "
          f"test statement with other constants (variant): {kinds['variant']}; planted pages: {len(planted)}")
    ours = DecontaminateConfig()
    rules = [("paper: any shared 10-gram, answers matched", DecontaminateConfig.paper()),
             ("answers not matched", DecontaminateConfig(min_coverage=0.0, boilerplate_df=0)),
             (f"answers not matched, min_coverage {ours.min_coverage}", DecontaminateConfig(boilerplate_df=0)),
             (f"ours: answers not matched, min_coverage {ours.min_coverage}, boilerplate_df {ours.boilerplate_df}", ours)]
    rules += [(f"ours with min_coverage {c}", DecontaminateConfig(min_coverage=c)) for c in args.min_coverage]
    rules += [(f"ours with boilerplate_df {d}", DecontaminateConfig(boilerplate_df=d)) for d in args.boilerplate_df]
    for label, cfg in rules:
        r = run_rule(label, cfg, clean, planted, items, dups)
        n = r["clean"]
        print(f"\n== {label}")
        print(f"  clean removed {r['clean_removed']}/{n} = {r['clean_removed'] / n:.2%}: duplicates "
              f"{r['dup_removed']}/{kinds['duplicate']}, variants {r['variant_removed']}/{kinds['variant']}, "
              f"other (false positives) {r['false_pos']} = {r['false_pos'] / n:.2%}")
        print(f"  planted recall {r['planted_caught']}/{r['planted']} = {r['planted_caught'] / r['planted']:.3f}"
              f" (by an item of its own benchmark: {r['planted_own_benchmark']})")
        print(f"  clean removals by cause (rule:field of best hit): {r['cause']}")
        print(f"  removals by benchmark (a page counts under each that hit it): {r['by_benchmark']}")
        print(f"  removals by page source: {r['by_page_source']}")
        print(f"  throughput {r['pages_per_s']:,.0f} pages/s (index build {r['index_s']:.1f} s)")
        if r["dup_kept"]:
            print(f"  duplicates kept (page, test record): {r['dup_kept']}")
        if r["examples"]:
            print(f"  false-positive examples (page, best hit, coverage): {r['examples']}")


if __name__ == "__main__":
    main()
