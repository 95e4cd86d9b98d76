"""Hand-written equivalence cases: the real `python -m evaluation.grade` CLI against math-verify
called directly, per kind, both scored against the verdict a careful grader gives.

`equivalence_cases.jsonl` holds {kind, gold, prediction, expected} (and a `note` where the
verdict rests on a convention), positive and negative pairs of each kind. math-verify "direct" is `verify(parse(gold), parse(prediction))` exactly as a
user would call it, and once more with the gold in math mode (`$gold$`), its fairer reading;
our grader must agree with `expected` on every case and so at least match both on every kind.
Run with `-s` to see the per-kind table.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = [json.loads(line) for line in (Path(__file__).parent / "equivalence_cases.jsonl").read_text().splitlines()]
KINDS = sorted({c["kind"] for c in CASES})


def _ours() -> list[bool]:
    stdin = "".join(json.dumps({"gold": c["gold"], "pred": c["prediction"]}) + "\n" for c in CASES)
    done = subprocess.run([sys.executable, "-m", "evaluation.grade", "-"], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(CASES)
    return [o["correct"] for o in out]


def _direct(gold_in_math_mode: bool) -> list[bool]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    verdicts = []
    for c in CASES:
        gold = f"${c['gold']}$" if gold_in_math_mode else c["gold"]
        verdicts.append(bool(verify(parse(gold), parse(c["prediction"]))))
    return verdicts


def _agreement(verdicts: list[bool]) -> dict[str, tuple[int, int]]:
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case, verdict in zip(CASES, verdicts, strict=True):
        per_kind[case["kind"]][0] += verdict == case["expected"]
        per_kind[case["kind"]][1] += 1
    return {kind: (hits, n) for kind, (hits, n) in per_kind.items()}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, list[bool]]:
    return {"ours": _ours(), "math-verify": _direct(False), "math-verify $gold$": _direct(True)}


def test_cases_cover_every_kind_both_ways():
    for kind in KINDS:
        expected = [c["expected"] for c in CASES if c["kind"] == kind]
        assert len(expected) >= 8 and any(expected) and not all(expected), kind


def test_ours_agrees_with_every_expected_verdict(verdicts):
    wrong = [(c["kind"], c["gold"], c["prediction"], c["expected"])
             for c, v in zip(CASES, verdicts["ours"], strict=True) if v != c["expected"]]
    assert wrong == []


def test_ours_at_least_as_good_as_math_verify_direct_on_every_kind(verdicts):
    table = {name: _agreement(v) for name, v in verdicts.items()}
    print(f"\n{'kind':18}" + "".join(f"{name:>20}" for name in table))
    for kind in KINDS:
        print(f"{kind:18}" + "".join(f"{'%d/%d' % table[name][kind]:>20}" for name in table))
    for kind in KINDS:
        for name in ("math-verify", "math-verify $gold$"):
            assert table["ours"][kind][0] >= table[name][kind][0], (kind, name)
