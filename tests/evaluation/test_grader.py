"""Answer extraction, numeric canonicalisation, equivalence (fast path and math-verify) and grading."""

import pytest

from evaluation.extract import MAX_CHARS, extract, extract_answer, last_boxed
from evaluation.grader import fast_equivalent, grade, grade_many, is_correct, normalize_number


@pytest.mark.parametrize(
    "completion,expected,method",
    [
        ("Tom has 5.\n5 + 3 = 8.\n#### 8", "8", "hash"),
        ("#### 3\nthen more text 99\n#### -12", "-12", "hash"),
        ("#### $1,000", "1,000", "hash"),
        ("so \\boxed{\\frac{1}{2}} is it", "\\frac{1}{2}", "boxed"),
        ("first \\boxed{3} then \\boxed{{4}} done 7", "{4}", "boxed"),
        ("nested \\boxed{\\frac{a}{\\sqrt{b}}} ok", "\\frac{a}{\\sqrt{b}}", "boxed"),
        ("MATH style $\\fbox{17}$", "17", "boxed"),
        ("The answer is 42. Then 17 more", "42", "answer_is"),
        ("the answer is: -3.5, right 9", "-3.5", "answer_is"),
        ("The final answer is $\\frac{3}{4}$.", "\\frac{3}{4}", "answer_is"),
        ("we get 12 then 1,234 apples.", "1,234", "last_number"),
        ("5-3 = 2", "2", "last_number"),
        ("x = 5", "x = 5", "bare"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", "bare"),
        ("no digits here", None, "none"),
        ("", None, "none"),
        ("7\nQuestion: next problem\nAnswer:\n#### 99", "7", "bare"),
        ("so 7.\nProblem: next\nSolution: \\boxed{99}", "7", "last_number"),
    ],
)
def test_extract(completion, expected, method):
    ex = extract(completion)
    assert (ex.answer, ex.method) == (expected, method)
    assert ex.strict == (method in ("hash", "boxed", "answer_is"))


def test_last_boxed_unbalanced_box_falls_back_to_earlier_box():
    assert last_boxed("\\boxed{5} and \\boxed{6") == "5"
    assert last_boxed("\\boxed{a \\boxed{b}}") == "b"
    assert last_boxed("no box") is None


def test_extract_answer_only_reads_the_tail():
    long = "#### 1\n" + "x" * (MAX_CHARS + 10) + " 4"
    assert extract_answer(long) == "4"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1,000", "1000"), ("6.0", "6"), ("-0", "0"), ("$12.", "12"), ("50%", "50"), ("50\\%", "50"),
        (".5", "0.5"), ("1/2", "0.5"), ("2/6", "1/3"), ("\\frac{3}{4}", "0.75"), ("\\dfrac{3}{4}", "0.75"),
        ("-\\frac{3}{4}", "-0.75"), ("+7", "7"), ("5\\text{ cm}", "5"), ("\\$18.90", "18.9"),
        ("1,2,3", None), ("3/0", None), ("abc", None), ("1e5", None), (None, None), ("9" * 101, None),
    ],
)
def test_normalize_number(raw, expected):
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    "pred,gold,expected",
    [
        ("1,000", "1000", True), ("0.5", "\\frac{1}{2}", True), ("50%", "0.5", True), ("0.5", "50\\%", True),
        ("7", "8", False), ("0.3", "0.5", False), ("x+1", "x + 1", True), ("x+1", "1+x", None),
        ("0.333333", "1/3", None),
    ],
)
def test_fast_equivalent(pred, gold, expected):
    assert fast_equivalent(pred, gold) is expected


@pytest.mark.parametrize(
    "pred,gold",
    [
        ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}"),
        ("\\boxed{(-\\infty,3]}", "(-\\infty, 3]"),
        ("\\boxed{\\{2,1\\}}", "\\{1,2\\}"),
        ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("\\boxed{1+x^2}", "x^2+1"),
        ("The answer is $\\boxed{(3,\\pi/2)}$", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("so \\boxed{x = 3}", "3"),
        ("\\boxed{5 \\text{ cm}}", "5"),
        ("\\boxed{\\text{(C)}}", "\\text{(C)}"),
    ],
)
def test_math_verify_equivalences(pred, gold):
    g = grade(pred, gold)
    assert g.correct and g.error is None


def test_grade_strict_and_lenient():
    assert grade("#### 8", "8").strict
    lenient = grade("so it is 8", "8")
    assert lenient.correct and not lenient.strict and lenient.method == "last_number"
    assert not grade("#### 9", "8").correct


def test_grade_many_keeps_order_and_reports_empty_gold():
    out = grade_many(["#### 1", "\\boxed{\\frac{1}{2}}", "#### 3"], ["1", "0.5", " "])
    assert [g.correct for g in out] == [True, True, False]
    assert out[2].error == "gold_empty"


def test_is_correct():
    assert is_correct("5 + 3 = 8\n#### 8", "8")
    assert is_correct("#### 8.0", "8")
    assert is_correct("The answer is 1,000.", "1000")
    assert not is_correct("#### 9", "8")
    assert not is_correct("no answer", "8")
    assert is_correct("\\boxed{-4}", "-4")
    assert is_correct("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}")


@pytest.mark.parametrize("gold", ["", "   "])
def test_is_correct_rejects_ungradeable_gold(gold):
    with pytest.raises(ValueError, match="^gold:"):
        is_correct("#### 8", gold)
