"""Grading throughput: our grader (`evaluation.grader.grade_many`) against math-verify called
directly in-process, on the same items in the same run.

Items are typical short answers: every GSM8K and MATH test gold against itself and against
perturbed spellings (thousands separators, "$", ".0", \\dfrac, spaces, wrapped in a sentence
with \\boxed{}) and wrong variants (a digit changed). Reads ../shared/data; prints items/s.

    python bench/grading.py [--limit N] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.grader import grade_many  # noqa: E402
from evaluation.grading_pool import shared_pool  # noqa: E402
from inputs.problems import read_problems  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def _wrong(gold: str) -> str:
    match = re.search(r"\d", gold)
    if not match:
        return gold + "+1"
    digit = str((int(match.group()) + 1) % 10)
    return gold[: match.start()] + digit + gold[match.end() :]


def _variants(gold: str, gsm8k: bool) -> list[tuple[str, str]]:
    if gsm8k:
        n = int(gold.replace(",", "")) if gold.replace(",", "").lstrip("-").isdigit() else None
        spelled = f"{n:,}" if n is not None else gold
        return [(gold, gold), (f"${spelled}", gold), (f"{gold}.0", gold),
                (f"So the total is {gold}.\n#### {gold}", gold), (_wrong(gold), gold)]
    return [(gold, gold), (gold.replace("\\frac", "\\dfrac"), gold), (" ".join(gold), gold),
            (f"The answer is $\\boxed{{{gold}}}$.", gold), (_wrong(gold), gold)]


def items(limit: int) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, gsm8k in (("gsm8k", True), ("math", False)):
        path = DATA / name / "test.jsonl"
        if not path.is_file():
            raise SystemExit(f"benchmark data absent: {path}")
        for item in read_problems(str(path), name)[:limit]:
            pairs += _variants(item["answer"], gsm8k)
    return pairs


def math_verify_direct(pairs: list[tuple[str, str]]) -> tuple[float, int]:
    from math_verify import parse, verify

    t0 = time.perf_counter()
    correct = sum(bool(verify(parse(f"\\boxed{{{g}}}"), parse(p if "boxed" in p else f"\\boxed{{{p}}}")))
                  for p, g in pairs)
    return time.perf_counter() - t0, correct


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=600, help="golds per benchmark (default 600)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    pairs = items(args.limit)
    t0 = time.perf_counter()
    shared_pool(args.workers, 5.0).map([("1", "1")] * args.workers)  # start-up, reported apart
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = grade_many([p for p, _ in pairs], [g for _, g in pairs], workers=args.workers, timeout=5.0)
    ours_s = time.perf_counter() - t0
    direct_s, direct_correct = math_verify_direct(pairs)
    n = len(pairs)
    report = {
        "items": n, "workers": args.workers, "pool_startup_s": round(startup, 2),
        "ours_items_per_s": round(n / ours_s), "ours_correct": sum(g.correct for g in ours),
        "ours_timeouts": sum(g.error == "timeout" for g in ours),
        "math_verify_direct_items_per_s": round(n / direct_s), "math_verify_direct_correct": direct_correct,
        "speedup_vs_math_verify": round(direct_s / ours_s, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
