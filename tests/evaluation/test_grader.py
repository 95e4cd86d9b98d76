"""Answer extraction, normalisation, grading and gold answers."""

import pytest

from evaluation.grader import MAX_CHARS, extract_answer, is_correct, normalize_number
from evaluation.prompts import gold_answer, synthetic_prompt


@pytest.mark.parametrize(
    "completion,expected",
    [
        ("Tom has 5.\n5 + 3 = 8.\n#### 8", "8"),
        ("#### 3\nthen more text 99\n#### -12", "-12"),
        ("#### $1,000", "1,000"),
        ("so \\boxed{\\frac{1}{2}} is it", "\\frac{1}{2}"),
        ("first \\boxed{3} then \\boxed{{4}} done 7", "{4}"),
        ("The answer is 42. Then 17 more", "42"),
        ("the answer is: -3.5, right 9", "-3.5"),
        ("we get 12 then 1,234 apples.", "1,234"),
        ("5-3 = 2", "2"),
        ("no digits here", None),
        ("", None),
        ("7\nQuestion: next problem\nAnswer:\n#### 99", "7"),
    ],
)
def test_extract_answer(completion, expected):
    assert extract_answer(completion) == expected


def test_extract_answer_unbalanced_box_falls_back_to_earlier_box():
    assert extract_answer("\\boxed{5} and \\boxed{6") == "5"


def test_extract_answer_only_reads_the_tail():
    long = "#### 1\n" + "x" * (MAX_CHARS + 10) + " 4"
    assert extract_answer(long) == "4"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1,000", "1000"),
        ("6.0", "6"),
        ("-0", "0"),
        ("$12.", "12"),
        ("50%", "50"),
        (".5", "0.5"),
        ("1/2", "0.5"),
        ("2/6", "1/3"),
        ("\\frac{3}{4}", "0.75"),
        ("-\\frac{3}{4}", "-0.75"),
        ("+7", "7"),
        ("1,2,3", None),
        ("3/0", None),
        ("abc", None),
        ("1e5", None),
        (None, None),
    ],
)
def test_normalize_number(raw, expected):
    assert normalize_number(raw) == expected


def test_is_correct():
    assert is_correct("5 + 3 = 8\n#### 8", "8")
    assert is_correct("#### 8.0", "8")
    assert is_correct("The answer is 1,000.", "1000")
    assert not is_correct("#### 9", "8")
    assert not is_correct("no answer", "8")
    assert is_correct("\\boxed{-4}", "-4")


def test_is_correct_rejects_non_numeric_gold():
    with pytest.raises(ValueError, match="^gold:"):
        is_correct("#### 8", "eight")


def test_prompt_and_gold_answer():
    assert synthetic_prompt("What is 2+2?") == "Question: What is 2+2?\nAnswer:\n"
    assert gold_answer("Tom starts with 5 apples.\nHe buys 3 more, so 5 + 3 = 8.\n#### 8") == "8"
    assert gold_answer("5 - 9 = -4\n#### -4") == "-4"
    with pytest.raises(ValueError, match="no '#### N' line in 'just text'"):
        gold_answer("just text")
