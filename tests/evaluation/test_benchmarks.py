"""Benchmark loading and gold extraction; on the real data in ../shared/data, the done-when check:
the gold extracted from every reference solution grades correct against the dataset's own answer."""

from pathlib import Path

import pytest

from evaluation.benchmarks import detect_layout, load_benchmark, math_gold, normalize, normalize_all
from evaluation.grader import grade_many

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_normalize_gsm8k_layout():
    item = normalize({"question": "Q?", "answer": "2 + 2 = 4\n#### 4"}, "gsm8k", 3)
    assert item == {"id": "gsm8k/3", "question": "Q?", "gold": "4", "solution": "2 + 2 = 4\n#### 4",
                    "level": None, "subject": None}


def test_normalize_math_layouts():
    math = {"unique_id": "test/algebra/1.json", "problem": "P", "solution": "so $\\boxed{\\frac{1}{\\sqrt{2}}}$.",
            "level": "Level 3", "type": "Algebra", "answer": "\\frac{1}{\\sqrt{2}}"}
    item = normalize(math, "math", 0)
    assert (item["id"], item["gold"], item["level"], item["subject"]) == (
        "test/algebra/1.json", "\\frac{1}{\\sqrt{2}}", 3, "Algebra")
    m500 = {**math, "level": 5, "subject": "Precalculus"}
    m500.pop("type")
    assert normalize(m500, "math500", 0)["level"] == 5
    assert normalize({**math, "level": "Level ?"}, "math", 0)["level"] is None
    assert normalize(item, "again", 0) == item  # normalised records pass through


def test_math_gold_falls_back_to_the_answer_field_and_else_fails():
    assert math_gold("no box here", "7") == "7"
    with pytest.raises(ValueError, match="^solution: no"):
        math_gold("no box here")


def test_unknown_layout_is_an_error():
    with pytest.raises(ValueError, match="unknown benchmark layout with keys \\['text'\\]"):
        detect_layout({"text": "x"})


def test_load_benchmark_local_and_missing(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"question": "Q", "answer": "#### 5"}\nnot json\n')
    assert [i["gold"] for i in load_benchmark(str(path), "b")] == ["5"]
    with pytest.raises(FileNotFoundError, match="benchmark b: not found"):
        load_benchmark(str(tmp_path / "nope.jsonl"), "b")
    with pytest.raises(ValueError, match="expected hf:NAME"):
        load_benchmark("hf:no-split", "b")


def _real(name: str) -> Path:
    path = DATA / name / "test.jsonl"
    if not path.is_file():
        pytest.skip(f"real benchmark data absent: {path}")
    return path


@pytest.mark.parametrize("name,expected", [("gsm8k", 1319), ("math", 5000), ("math500", 500)])
def test_real_reference_solutions_grade_correct(name, expected):
    """Grade every reference solution, as a completion, against the gold extracted from it and
    against the dataset's own `answer` field where there is one; >= 99.9% must pass."""
    items = load_benchmark(str(_real(name)), name)
    assert len(items) == expected
    import json

    raw = [json.loads(line) for line in _real(name).read_text().splitlines()]
    golds = [r.get("answer") if name != "gsm8k" else i["gold"] for r, i in zip(raw, items)]
    grades = grade_many([i["solution"] for i in items], golds, timeout=5.0)
    failures = [(i["id"], i["gold"], g.extracted, g.error) for i, g in zip(items, grades) if not g.correct]
    rate = 1 - len(failures) / len(items)
    print(f"{name}: {len(items) - len(failures)}/{len(items)} reference solutions graded correct; "
          f"exceptions: {failures}")
    assert rate >= 0.999, failures
    if name != "gsm8k":
        assert sum(i["gold"] == r["answer"].strip() for i, r in zip(items, raw)) / len(items) >= 0.999


def test_real_benchmarks_keep_level_and_subject():
    items, counts = normalize_all(
        [__import__("json").loads(l) for l in _real("math500").read_text().splitlines()], "math500")
    assert {i["level"] for i in items} == {1, 2, 3, 4, 5}
    assert len({i["subject"] for i in items}) == 7
    assert counts["gold_equals_answer_field"] == 500
