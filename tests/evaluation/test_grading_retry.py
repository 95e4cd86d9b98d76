"""Timeouts: an item that times out is retried once on a fresh worker with a longer budget, and
timeouts, retries and retry successes are counted per pool and reported by the CLI.

Real math-verify throughout: a first budget of 0.1 ms is too short for any item (a pipe round
trip alone takes longer), so the first attempt always times out and the retry decides.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluation.grading_pool import TIMEOUT, GradingPool, PoolStats

ROOT = Path(__file__).resolve().parents[2]


def test_an_item_that_times_out_succeeds_on_its_retry():
    pool = GradingPool(workers=1, timeout=1e-4, retry_factor=50_000)  # the retry gets 5 s
    try:
        out = pool.map([(("\\frac{1}{2}",), "0.5"), ("x^2+1", "1+x^2"), (["7", "8"], "9")])
        assert out == [(True, None), (True, None), (False, None)]
        assert pool.stats == PoolStats(timeouts=0, retries=3, retry_successes=3, worker_deaths=0)
    finally:
        pool.close()


def test_a_second_timeout_grades_wrong_within_both_budgets():
    pool = GradingPool(workers=1, timeout=0.3, retry_factor=2.0)
    try:
        t0 = time.monotonic()
        out = pool.map([("\\boxed{10^{10^{8}} + 1}", "42")])
        assert out == [(False, TIMEOUT)]
        assert pool.stats == PoolStats(timeouts=1, retries=1, retry_successes=0, worker_deaths=0)
        # 0.3 s + a 0.6 s retry, plus one fresh worker's start-up, which is not on the clock.
        assert time.monotonic() - t0 < 0.9 + 10
    finally:
        pool.close()


def test_no_retry_when_the_factor_is_zero():
    pool = GradingPool(workers=1, timeout=1e-4, retry_factor=0)
    try:
        assert pool.map([("1/2", "0.5")]) == [(False, TIMEOUT)]
        assert pool.stats == PoolStats(timeouts=1, retries=0, retry_successes=0, worker_deaths=0)
    finally:
        pool.close()


@pytest.mark.parametrize("bad", [{"workers": 0}, {"timeout": 0}, {"retry_factor": -1}])
def test_pool_arguments_are_checked(bad):
    with pytest.raises(ValueError):
        GradingPool(**{"workers": 1, "timeout": 1.0, **bad})


def test_cli_reports_the_runs_timeouts():
    lines = [{"gold": "x^2+1", "pred": "\\boxed{1+x^2}"}, {"gold": "7", "pred": "#### 7"}]
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.grade", "-", "--timeout", "0.0001", "--workers", "1"],
        input="".join(json.dumps(line) + "\n" for line in lines), cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    # The first needs math-verify and misses both 0.1 ms and 0.3 ms; the second is exact.
    assert [(o["correct"], o.get("error")) for o in out] == [(False, "timeout"), (True, None)]
    assert "grading timeouts: 1 retried, 0 succeeded on retry, 1 graded wrong" in done.stderr
