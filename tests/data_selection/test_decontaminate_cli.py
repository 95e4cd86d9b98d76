"""The standalone command: benchmark files in every layout it reads (raw GSM8K, raw MATH,
normalised, NAME=PATH), the counts it writes, the paper's rule on request, and the issue's
done-when check on the real GSM8K and MATH test files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.decontaminate import main

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GSM8K, MATH = DATA / "gsm8k" / "test.jsonl", DATA / "math" / "test.jsonl"
FILLER = "the council met on monday to discuss the budget and the new bridge near the old market".split()

WORLD_Q = ("Ben has 2 balloons. Ben sells 1 balloons. Then Ben picks up 12 more balloons. "
           "How many balloons does Ben have now?")
MATH_SOLUTION = (r"Flip a fair coin twice; of the four equally likely outcomes exactly two show one head, "
                 r"so the probability is $\boxed{\frac{1}{2}}$.")
M500_Q = "Find the number of positive divisors of the product of the first five prime numbers."
CUSTOM_Q = "A train leaves the station at noon and travels at sixty miles per hour for three hours."


def _write(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _benchmarks(tmp: Path) -> list[str]:
    world = _write(tmp / "world" / "test.jsonl", [  # raw GSM8K layout; ids name the source
        {"id": "synthetic-test/0", "question": WORLD_Q, "answer": "2 - 1 + 12 = 13\n#### 13"},
        {"id": "synthetic-test/1", "question": "Ann has 3 pens. How many pens does Ann have now?", "answer": "#### 3"},
    ])
    mathx = _write(tmp / "mathx" / "test.jsonl", [  # raw MATH layout; the folder names the source
        {"unique_id": "test/probability/1.json",
         "problem": "Two fair coins are flipped. What is the probability of exactly one head?",
         "solution": MATH_SOLUTION, "level": "Level 2", "type": "Counting & Probability"},
    ])
    m500 = _write(tmp / "benchmarks" / "m500.jsonl", [  # already normalised: keeps its own source
        {"id": "test/number_theory/9.json", "question": M500_Q,
         "solution": r"$2\cdot3\cdot5\cdot7\cdot11$ has $\boxed{32}$.", "answer": "32", "source": "math500",
         "level": 3, "subject": "Number Theory"},
    ])
    custom = _write(tmp / "other" / "test.jsonl", [{"question": CUSTOM_Q, "answer": "180 miles\n#### 180"}])
    return [str(world), str(mathx), str(m500), f"custom={custom}"]


def _corpus(tmp: Path) -> Path:
    return _write(tmp / "corpus.jsonl", [
        {"url": "u/world", "text": f"Problem : {WORLD_Q} thanks", "is_math": True, "benchmark_id": "synthetic-test/0"},
        {"url": "u/half", "text": r"A fair coin shows heads with probability \frac{1}{2}, as every textbook says.",
         "source": "crawl-a.warc.gz", "is_math": True},
        {"url": "u/solution", "text": f"Tutor: {MATH_SOLUTION} Any questions?", "source": "crawl-a.warc.gz"},
        {"url": "u/m500", "text": f"<h1>Help</h1> {M500_Q}", "source": "crawl-b.warc.gz"},
        {"url": "u/custom", "text": f"{CUSTOM_Q} How far does it go?", "source": "crawl-b.warc.gz"},
        {"url": "u/news", "text": " ".join(FILLER), "source": "crawl-b.warc.gz"},
        "{not json",
        {"url": "u/empty"},
    ])


def _run(tmp: Path, *extra: str) -> tuple[set[str], dict]:
    args = ["--corpus", str(_corpus(tmp)), "--output", str(tmp / "kept.jsonl"), "--report", str(tmp / "report.json"),
            "--metrics", str(tmp / "metrics.json"), *extra]
    for bench in _benchmarks(tmp):
        args += ["--benchmark", bench]
    main(args)
    kept = {json.loads(line)["url"] for line in (tmp / "kept.jsonl").read_text().splitlines()}
    metrics = json.loads((tmp / "metrics.json").read_text())
    assert json.loads((tmp / "report.json").read_text())["stats"] == metrics
    return kept, metrics


def test_every_layout_is_read_named_and_counted(tmp_path: Path) -> None:
    kept, metrics = _run(tmp_path)
    assert kept == {"u/half", "u/news"}  # a common final answer is no contamination
    assert metrics["benchmark_records"] == {"custom": 1, "math500": 1, "mathx": 1, "synthetic": 2}
    # Both questions have >= 10 tokens; the solutions have 5 ("2 1 12 13 13") and 1 ("3").
    assert metrics["benchmark_items"]["synthetic"] == {"items": 6, "items_answer_not_matched": 2, "items_ngram": 2,
                                                       "items_short_exact": 1, "items_too_short": 1}
    assert metrics["removed_by_benchmark"] == {"custom": 1, "math500": 1, "mathx": 1, "synthetic": 1}
    assert metrics["input_by_page_source"] == {"crawl-a.warc.gz": 2, "crawl-b.warc.gz": 3, "synthetic": 1}
    assert metrics["removed_by_page_source"] == {"crawl-a.warc.gz": 1, "crawl-b.warc.gz": 2, "synthetic": 1}
    assert (metrics["planted_recall"], metrics["clean_math_removed"]) == (1.0, 0)
    assert metrics["skipped"] == {"bad_json": 1, "page_without_url_or_text": 1}
    assert metrics["benchmark_read"][_benchmarks(tmp_path)[1]] == {"layout_math": 1, "records": 1}
    removed = json.loads((tmp_path / "report.json").read_text())["removed"]
    assert {r["url"]: r["benchmark_id_hit"] for r in removed} == {
        "u/world": "synthetic|synthetic-test/0:question", "u/solution": "mathx|test/probability/1.json:solution",
        "u/m500": "math500|test/number_theory/9.json:question", "u/custom": "custom|custom/0:question"}


def test_the_paper_rule_removes_the_common_answer_too(tmp_path: Path) -> None:
    kept, metrics = _run(tmp_path, "--rule", "paper")
    assert kept == {"u/news"}
    assert metrics["rule"] == {"ngram": 10, "min_ngram": 3, "min_coverage": 0.0, "boilerplate_df": 0, "match_answers": True}
    assert metrics["removed_by_field"] == {"answer": 1, "question": 3, "solution": 1}


def test_rule_flags_and_params_do_not_mix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--rule"):
        _run(tmp_path, "--params", "params.yaml", "--rule", "paper")


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
        text = f"{_filler(rng, 40)}\n{rec['question']}\n{_filler(rng, 40)}"
        pages.append({"url": f"https://forum.example/q/{i}", "text": text})
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
    result = json.loads(report.read_text())
    assert {r["url"] for r in result["removed"]} == planted
    assert kept == {p["url"] for p in clean}
    assert {r["benchmark_id_hit"].split("|")[0] for r in result["removed"]} == {"gsm8k", "math"}
    assert result["stats"]["removed_by_benchmark"] == {"gsm8k": 25, "math": 25}
    assert result["stats"]["benchmark_records"] == {"gsm8k": 1319, "math": 5000}
