"""The issue's done-when check: the standalone command, given a corpus with GSM8K and MATH test
problems planted in it, removes every planted page and reports the item that hit each."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.decontaminate import main

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GSM8K, MATH = DATA / "gsm8k" / "test.jsonl", DATA / "math" / "test.jsonl"
FILLER = "the council met on monday to discuss the budget and the new bridge near the old market".split()


def _filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(FILLER) for _ in range(n))


def test_every_planted_gsm8k_and_math_page_is_removed(tmp_path: Path) -> None:
    if not (GSM8K.is_file() and MATH.is_file()):
        pytest.skip(f"benchmark data absent: {DATA} lacks gsm8k/test.jsonl or math/test.jsonl")
    rng = random.Random(0)
    gsm = [json.loads(line) for line in GSM8K.read_text().splitlines()[:400]]
    math = [json.loads(line) for line in MATH.read_text().splitlines()[:400]]
    pages, planted = [], set()
    for i, rec in enumerate(rng.sample(gsm, 25)):  # question verbatim inside page boilerplate
        pages.append({"url": f"https://forum.example/q/{i}", "text": f"{_filler(rng, 40)}\n{rec['question']}\n{_filler(rng, 40)}"})
        planted.add(pages[-1]["url"])
    for i, rec in enumerate(rng.sample(math, 25)):  # MATH problem or solution, as a tutor site would
        quoted = rec["problem"] if i % 2 else rec["solution"]
        pages.append({"url": f"https://tutor.example/m/{i}", "text": f"<h1>Help</h1> {quoted} {_filler(rng, 30)}"})
        planted.add(pages[-1]["url"])
    clean = [{"url": f"https://news.example/{i}", "text": _filler(rng, 120)} for i in range(100)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in rng.sample(pages + clean, len(pages) + len(clean))))
    out, report = tmp_path / "kept.jsonl", tmp_path / "report.json"
    main(["--corpus", str(corpus), "--benchmark", str(GSM8K), "--benchmark", str(MATH),
          "--output", str(out), "--report", str(report)])
    kept = {json.loads(line)["url"] for line in out.read_text().splitlines()}
    removed = json.loads(report.read_text())["removed"]
    assert {r["url"] for r in removed} == planted
    assert kept == {p["url"] for p in clean}
    hits = {r["benchmark_id_hit"].split("|")[0] for r in removed}
    assert hits == {"gsm8k/test", "math/test"}
    assert json.loads(report.read_text())["stats"]["removed_by_benchmark"] == {"gsm8k/test": 25, "math/test": 25}
