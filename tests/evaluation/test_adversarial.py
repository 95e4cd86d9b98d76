"""Adversarial completions: nothing they contain is executed, and each is graded within the timeout.

The grader's hard timeout is exercised with a short pool timeout, shorter than the seconds
math-verify needs for a huge power, so the worker must be killed and the item counted.
"""

import re
import time
from pathlib import Path

import pytest

from evaluation.grader import grade_many
from evaluation.grading_pool import TIMEOUT, GradingPool

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 3.0


def adversarial(marker: Path) -> list[tuple[str, str]]:
    """(completion, gold) pairs; every gold is the number 42, and none of the completions is right."""
    touch = f"open('{marker}', 'w').write('pwned')"
    return [
        ("x" * 1_000_000 + " 41", "42"),  # a megabyte of text
        ("\\boxed{" + "y " * 500_000 + "}", "42"),  # a megabyte inside a box
        ("\\boxed{10**10**10**10}", "42"),
        ("#### 10**10**10**10", "42"),
        ("\\boxed{10^{10^{10^{10}}}}", "42"),
        ("\\boxed{(10^{10^{10}})!}", "42"),
        ("\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}", "42"),  # thousands of nested braces
        ("\\boxed{" * 5000 + "41", "42"),  # thousands of unbalanced boxes
        ("\\frac{" * 3000 + "1" + "}{2}" * 3000, "42"),
        (f"\\boxed{{__import__('os').system('touch {marker}')}}", "42"),
        (f"The answer is {touch}", "42"),
        (f"```python\n{touch}\nprint(42 - 1)\n```\n#### 41", "42"),
        (f"$(touch {marker}) `touch {marker}`; echo 41", "42"),
        ("\\boxed{\\input{/etc/passwd}}", "42"),
        ("\\boxed{1} \\boxed{2} \\boxed{3} \\boxed{41}", "42"),  # multiple boxes: only the last counts
        ("\\boxed{1, 2, 3, 41, 43}", "42"),  # a set of guesses is not an answer
        ("\\boxed{1 \\text{ or } 2 \\text{ or } 41}", "42"),
        ("\\boxed{x}", "42"),  # a free variable does not equal anything
        ("#### 41\n" * 100_000, "42"),
    ]


def test_adversarial_completions_are_wrong_fast_and_execute_nothing(tmp_path):
    marker = tmp_path / "pwned"
    cases = adversarial(marker)
    t0 = time.monotonic()
    grades = grade_many([c for c, _ in cases], [g for _, g in cases], workers=2, timeout=TIMEOUT_S)
    elapsed = time.monotonic() - t0
    assert not marker.exists()
    assert [g.correct for g in grades] == [False] * len(cases)
    # Two workers in parallel: the whole suite fits in (items / 2 + 1) timeouts, plus start-up.
    assert elapsed < (len(cases) / 2 + 1) * TIMEOUT_S + 5


def test_multiple_boxes_grade_the_last_one_only():
    grades = grade_many(["\\boxed{42} \\boxed{41}", "\\boxed{41} \\boxed{42}"], ["42", "42"])
    assert [g.correct for g in grades] == [False, True]


def test_hard_timeout_kills_the_worker_and_counts_it():
    pool = GradingPool(workers=1, timeout=0.5)  # the huge power needs far more than 0.5 s or 1.5 s
    try:
        t0 = time.monotonic()
        out = pool.map([("\\boxed{10^{10^{8}} + 1}", "42"), ("\\frac{1}{2}", "0.5")])
        assert out == [(False, TIMEOUT), (True, None)]
        assert (pool.n_timeouts, pool.stats.retries, pool.stats.retry_successes) == (1, 1, 0)
        # 0.5 s, then the one retry's 1.5 s; the two fresh workers' start-ups are not on the clock.
        assert time.monotonic() - t0 < 8.0
    finally:
        pool.close()


FORBIDDEN = re.compile(r"(?<![.\w])(?:eval|exec|sympify|parse_expr)\s*\(")  # not model.eval()


@pytest.mark.parametrize("path", sorted((ROOT / "evaluation").glob("*.py")) + [ROOT / "rl" / "rewards.py"],
                         ids=lambda p: p.name)
def test_no_code_evaluation_in_the_grading_code(path):
    assert not FORBIDDEN.findall(path.read_text()), f"{path.name} calls eval/exec/sympify/parse_expr"
