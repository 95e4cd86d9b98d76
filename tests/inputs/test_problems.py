"""The one problem normaliser (GSM8K, MATH, MATH-500, synthetic) and the mixture; on the real data
in ../shared/data, the done-when check: every reference solution grades correct against the
answer extracted from it, and MATH train loads whole."""

import json
from collections import Counter
from pathlib import Path

import pytest

from evaluation.grader import grade_many
from inputs.mixture import mix, mixture_size
from inputs.problems import (BadProblem, detect_layout, math_answer, normalize, normalize_all, read_problems,
                            skip_counts)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_normalize_gsm8k_layout():
    item = normalize({"question": "Q?", "answer": "2 + 2 = 4\n#### 4"}, "gsm8k", 3)
    assert item == {"id": "gsm8k/3", "question": "Q?", "solution": "2 + 2 = 4\n#### 4", "answer": "4",
                    "source": "gsm8k", "level": None, "subject": None}


def test_normalize_math_layouts():
    math = {"unique_id": "test/algebra/1.json", "problem": "P", "solution": "so $\\boxed{\\frac{1}{\\sqrt{2}}}$.",
            "level": "Level 3", "type": "Algebra", "answer": "\\frac{1}{\\sqrt{2}}"}
    item = normalize(math, "math", 0)
    assert (item["id"], item["answer"], item["level"], item["subject"], item["source"]) == (
        "test/algebra/1.json", "\\frac{1}{\\sqrt{2}}", 3, "Algebra", "math")
    m500 = {**math, "level": 5, "subject": "Precalculus"}
    m500.pop("type")
    assert normalize(m500, "math500", 0)["level"] == 5
    assert normalize({**math, "level": "Level ?"}, "math", 0)["level"] is None
    assert normalize(item, "again", 0) == item  # normalised records pass through, source kept


def test_math_answer_falls_back_to_the_answer_field_and_else_fails():
    assert math_answer("no box here", "7") == "7"
    with pytest.raises(BadProblem, match="^missing_answer: no"):
        math_answer("no box here")


def test_bad_records_are_counted_by_reason_and_an_empty_source_is_an_error():
    records = [{"text": "x"}, {"question": "", "answer": "#### 1"}, {"question": "Q", "answer": "no marker"},
               {"problem": "P", "solution": "no box"}, {"problem": "P", "solution": 5},
               {"question": "Q", "answer": "1 + 1 = 2\n#### 2"}]
    counts: Counter[str] = Counter()
    (item,) = normalize_all(records, "mixed", counts)
    assert item["answer"] == "2"
    assert counts == Counter({"records": 6, "skipped_unknown_layout": 1, "skipped_missing_question": 1,
                              "skipped_missing_answer": 2, "skipped_missing_solution": 1, "layout_gsm8k": 1})
    with pytest.raises(ValueError, match="^mixed: no usable problems in 1 records"):
        normalize_all([{"text": "x"}], "mixed")
    with pytest.raises(BadProblem, match="unknown_layout: .*keys \\['text'\\]"):
        detect_layout({"text": "x"})


def test_read_problems_local_missing_and_hub_spec(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"question": "Q", "answer": "#### 5"}\nnot json\n')
    counts: Counter[str] = Counter()
    assert [i["answer"] for i in read_problems(str(path), "b", counts)] == ["5"]
    assert counts["bad_json"] == 1
    with pytest.raises(FileNotFoundError, match="^b: file not found: .*nope.jsonl"):
        read_problems(str(tmp_path / "nope.jsonl"), "b")
    with pytest.raises(ValueError, match="expected hf:NAME"):
        read_problems("hf:no-split", "b")


def test_mixture_draws_by_share_without_repeats():
    sets = {"gsm8k": [{"id": f"g{i}"} for i in range(10)], "math": [{"id": f"m{i}"} for i in range(4)]}
    assert mixture_size({"gsm8k": 10, "math": 4}, {"gsm8k": 0.5, "math": 0.5}) == 8
    mixed, drawn = mix(sets, {"gsm8k": 0.5, "math": 0.5}, 0, seed=1)
    assert drawn == {"gsm8k": 4, "math": 4} and len({p["id"] for p in mixed}) == 8
    again, _ = mix(sets, {"gsm8k": 0.5, "math": 0.5}, 0, seed=1)
    assert again == mixed  # seeded
    only, drawn = mix(sets, {"gsm8k": 1.0, "math": 0.0}, 3, seed=1)
    assert drawn == {"gsm8k": 3, "math": 0} and all(p["id"].startswith("g") for p in only)
    capped, drawn = mix(sets, {"gsm8k": 0.5, "math": 0.5}, 100, seed=1)
    assert len(capped) == 8  # a request beyond what the sets hold without repeats is capped


def _real(name: str, split: str = "test") -> Path:
    path = DATA / name / f"{split}.jsonl"
    if not path.is_file():
        pytest.skip(f"real benchmark data absent: {path}")
    return path


@pytest.mark.parametrize("name,expected", [("gsm8k", 1319), ("math", 5000), ("math500", 500)])
def test_real_reference_solutions_grade_correct(name, expected):
    """Grade every reference solution, as a completion, against the answer extracted from it and
    against the dataset's own `answer` field where there is one; >= 99.9% must pass."""
    items = read_problems(str(_real(name)), name)
    assert len(items) == expected
    raw = [json.loads(line) for line in _real(name).read_text().splitlines()]
    golds = [r.get("answer") if name != "gsm8k" else i["answer"] for r, i in zip(raw, items)]
    grades = grade_many([i["solution"] for i in items], golds, timeout=5.0)
    failures = [(i["id"], i["answer"], g.extracted, g.error) for i, g in zip(items, grades) if not g.correct]
    rate = 1 - len(failures) / len(items)
    print(f"{name}: {len(items) - len(failures)}/{len(items)} reference solutions graded correct; "
          f"exceptions: {failures}")
    assert rate >= 0.999, failures
    if name != "gsm8k":
        assert sum(i["answer"] == r["answer"].strip() for i, r in zip(items, raw)) / len(items) >= 0.999


@pytest.mark.parametrize("name,expected,skipped", [("gsm8k", 7473, {}), ("math", 7498, {"missing_answer": 2})])
def test_real_train_sets_load_whole(name, expected, skipped):
    """MATH train used to be rejected whole (no `#### N` line); both train sets now load. Two
    MATH train rows have an empty `\\boxed{}` and no answer field: counted, not used."""
    counts: Counter[str] = Counter()
    items = read_problems(str(_real(name, "train")), name, counts)
    assert len(items) == expected and skip_counts(counts) == skipped
    assert all(i["answer"] and i["solution"] and i["source"] == name for i in items)


def test_real_benchmarks_keep_level_and_subject():
    counts: Counter[str] = Counter()
    items = read_problems(str(_real("math500")), "math500", counts)
    assert {i["level"] for i in items} == {1, 2, 3, 4, 5}
    assert len({i["subject"] for i in items}) == 7
    assert counts["answer_equals_field"] == 500
