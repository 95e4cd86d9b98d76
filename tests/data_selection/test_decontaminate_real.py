"""The goal on the real files: GSM8K and MATH *train* problems decontaminated against GSM8K test,
MATH test and MATH-500 lose under 2% to the default rule (the paper's literal rule: over 10%),
while every planted test question or solution is caught (bench/decontamination.py at scale)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from data_selection.benchmark_items import read_benchmarks
from data_selection.config import DecontaminateConfig
from data_selection.decontaminate import decontaminate, problem_pages
from inputs.problems import read_problems

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
BENCHMARKS = ("gsm8k", "math", "math500")
FILES = [DATA / b / "test.jsonl" for b in BENCHMARKS] + [DATA / b / "train.jsonl" for b in ("gsm8k", "math")]
FILLER = "posted by a reader who asked for help with this homework thanks in advance reply quote".split()


@pytest.fixture(scope="module")
def corpus() -> tuple[list, list[dict], set[str]]:
    missing = [str(f) for f in FILES if not f.is_file()]
    if missing:
        pytest.skip(f"benchmark data absent: {missing}")
    rng = random.Random(0)
    items, _ = read_benchmarks([DATA / b / "test.jsonl" for b in BENCHMARKS])
    clean = []
    for name in ("gsm8k", "math"):
        clean += problem_pages(rng.sample(read_problems(str(DATA / name / "train.jsonl"), name), 200))
    planted = []
    for name in BENCHMARKS:
        for rec in rng.sample(read_problems(str(DATA / name / "test.jsonl"), name), 10):
            for field in ("question", "solution"):
                text = f"{' '.join(rng.choices(FILLER, k=30))}\n{rec[field]}\n{' '.join(rng.choices(FILLER, k=30))}"
                planted.append({"url": f"planted/{name}/{rec['id']}/{field}", "text": text, "source": "planted",
                                "benchmark_id": f"{name}|{rec['id']}"})
    return items, clean + planted, {p["url"] for p in planted}


def test_default_rule_keeps_clean_train_problems_and_catches_every_planted_page(corpus) -> None:
    items, pages, planted = corpus
    _, removed, stats = decontaminate(pages, items, DecontaminateConfig())
    by_url = {r["url"]: r for r in removed}
    assert planted <= by_url.keys()
    assert stats["planted_recall"] == 1.0
    for url in planted:  # caught by its own benchmark (a MATH-500 page counts under MATH too)
        assert url.split("/")[1] in by_url[url]["benchmarks"]
    clean_removed = len(by_url) - len(planted)
    assert clean_removed / 400 < 0.02, [r for r in removed if r["url"] not in planted]
    assert stats["input_by_page_source"] == {"gsm8k": 200, "math": 200, "planted": 60}
    assert stats["benchmark_records"] == {"gsm8k": 1319, "math": 5000, "math500": 500}


def test_the_paper_rule_removes_many_clean_train_problems(corpus) -> None:
    items, pages, planted = corpus
    _, removed, stats = decontaminate(pages, items, DecontaminateConfig.paper())
    clean_removed = [r for r in removed if r["url"] not in planted]
    assert len(clean_removed) / 400 > 0.10
    assert sum(r["field"] == "answer" for r in clean_removed) > len(clean_removed) / 3  # short final answers
