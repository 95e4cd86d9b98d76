"""Answer markers: the last explicit marker wins, `####` also inline, markdown headings are not
answers, lists of boxes are one answer, and the lenient readings of unmarked prose."""

import pytest

from evaluation.extract import extract
from evaluation.grader import grade_many, readings
from evaluation.numbers import decimal_comma

MARKDOWN = """## Solution

#### Step 1: count the apples
Tom has **5** apples and buys 3 more.

#### Step 2: add
- before: 5
- after: 5 + 3 = 8

#### 8
"""


@pytest.mark.parametrize(
    "completion,answer,method",
    [
        (MARKDOWN, "8", "hash"),
        ("#### Step 2: compute the total\n5 + 3 = 8", "8", "last_number"),  # a heading is not "2"
        ("#### 2. Compute the area\nit is 12", "12", "last_number"),  # numbered heading
        ("#### Final Answer\n\n**42**", "42", "hash"),
        ("#### Answer: 42", "42", "hash"),
        ("#### The answer is 5", "5", "answer_is"),
        ("#### **42**", "42", "hash"),
        ("##### 7 is an h5 heading\nso 9", "9", "last_number"),
    ],
)
def test_markdown_headings_are_not_answers(completion, answer, method):
    ex = extract(completion)
    assert (ex.answer, ex.method) == (answer, method)


@pytest.mark.parametrize(
    "completion,answer",
    [
        ("So 5 + 3 = 8 #### 8", "8"),
        ("The total is $1,234. #### $1,234", "1,234"),
        ("First the answer is 7, then checking again: 9 #### 9", "9"),
        ("so the total is 18 dollars #### 18 dollars", "18"),
        ("#### 41\n... wait, recount: 42 #### 42", "42"),
        ("####4", "4"),
        ("#### 2, 3", "2, 3"),
        ("#### \\frac{1}{2}", "\\frac{1}{2}"),
    ],
)
def test_inline_and_line_hash_markers(completion, answer):
    assert (extract(completion).answer, extract(completion).method) == (answer, "hash")


@pytest.mark.parametrize(
    "completion,answer,method",
    [
        ("The answer is 5.\n#### 6", "6", "hash"),
        ("#### 6\nOn reflection, the answer is 5.", "5", "answer_is"),
        ("\\boxed{3}\nSo the answer is 4.", "4", "answer_is"),
        ("The answer is 4, i.e. \\boxed{3}", "3", "boxed"),
        ("#### 7\nBoxed: \\boxed{8}", "8", "boxed"),
        ("\\boxed{8}\n#### 7", "7", "hash"),
        ("The answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}", "boxed"),
        ("The answer is Monday.", "Monday", "answer_is"),
        ("The answer is therefore x = 12.", "12", "answer_is"),
        ("So \\boxed{44}. We check that our answer is correct: 44 - 4 = 40.", "44", "boxed"),
    ],
)
def test_last_marker_wins_across_kinds(completion, answer, method):
    ex = extract(completion)
    assert (ex.answer, ex.method) == (answer, method)
    assert ex.strict


@pytest.mark.parametrize(
    "completion,answer",
    [
        ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "2, 3"),
        ("So $x = \\boxed{2}$ or $x = \\boxed{3}$.", "2, 3"),
        ("\\boxed{1}, \\boxed{2}, and \\boxed{3}", "1, 2, 3"),
        ("\\boxed{2} \\text{ and } \\boxed{3}", "2, 3"),
        ("\\boxed{42} \\boxed{41}", "41"),  # only spaces between: successive attempts
        ("First \\boxed{41}. Checking again gives \\boxed{42}", "42"),
        ("\\boxed{a \\boxed{b}}", "b"),
    ],
)
def test_boxes_joined_by_list_words_are_one_answer(completion, answer):
    assert (extract(completion).answer, extract(completion).method) == (answer, "boxed")


def test_a_list_of_boxes_is_also_read_as_its_last_box():
    ex = extract("the answers are $\\boxed{-2}$ and $\\boxed{1}$.")
    assert (ex.answer, ex.alternatives) == ("-2, 1", ("1",))
    assert readings(ex) == ("-2, 1", "1")
    assert readings(extract("\\boxed{3,5}")) == ("3,5", "3.5")


@pytest.mark.parametrize(
    "completion,answer,method",
    [
        ("Dividing by 4, we find that $x = \\frac{1}{2}$.", "x = \\frac{1}{2}", "last_latex"),
        ("The probability is $\\frac{3}{4}$.", "\\frac{3}{4}", "last_latex"),
        ("Since $2 + 2 = 4$, adding one gives $5$.", "5", "last_latex"),  # working: after "="
        ("Expanding, we obtain \\(x^2 + 1\\).", "x^2 + 1", "last_latex"),
        ("He pays $5 per hour for 8 hours, so $40.", "40", "last_number"),  # currency, not math
        ("costs $5 + $3 = $8", "8", "last_number"),
        ("So $x = \\frac{1}{2}$, see step 3.", "3", "last_number"),  # a digit after the span
        ("so we get 1/2", "1/2", "last_number"),
        ("dates like 3/4/2020 end in 2020", "2020", "last_number"),
        ("the numbers 1,2,3", "3", "last_number"),
        ("we get 1,234", "1,234", "last_number"),
        ("la probabilité vaut 0,125", "0,125", "last_number"),
        ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "bare"),
    ],
)
def test_lenient_readings_of_unmarked_prose(completion, answer, method):
    ex = extract(completion)
    assert (ex.answer, ex.method) == (answer, method)
    assert not ex.strict


@pytest.mark.parametrize(
    "answer,reading",
    [("3,5", "3.5"), ("-2,75", "-2.75"), ("0,125", "0.125"), ("3,14159", "3.14159"), ("$3,5$", "3.5"),
     ("1,234", None), ("2, 5", None), ("1,2,3", None), ("3.5", None), (None, None)],
)
def test_decimal_comma_rule(answer, reading):
    assert decimal_comma(answer) == reading


def test_markers_grade_end_to_end():
    cases = [
        (MARKDOWN, "8", True),
        ("#### Step 2: compute\n3 + 4 = 7", "2", False),  # the heading's 2 is not an answer
        ("So 5 + 3 = 8 #### 8", "8", True),
        ("The answer is 7.\nRecounting: #### 9", "7", False),  # the later marker wins
        ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "3", True),  # MATH's gold: the last box
        ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "2", False),
        ("We check that our answer is correct: 5 + 3 = 8. So \\boxed{7}", "7", True),
        ("The roots are $\\boxed{3}$ and $\\boxed{2}$.", "\\{2, 3\\}", True),
        ("\\boxed{3,5}", "3.5", True),
        ("\\boxed{1,234}", "1.234", False),  # a thousands separator
        ("Monday", "Monday", True),  # identical to the gold, though nothing is extracted
        ("\\boxed{\\text{on}}", "\\text{no}", False),  # words, not a product of letters
    ]
    grades = grade_many([c for c, _, _ in cases], [g for _, g, _ in cases])
    assert [g.correct for g in grades] == [ok for _, _, ok in cases]
