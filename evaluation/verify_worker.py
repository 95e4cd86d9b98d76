"""math-verify equivalence of two short answers; runs inside grading worker processes only.

math-verify parses LaTeX and plain expressions into SymPy (its own parser is the only place
model output reaches a parser) and compares numbers, fractions, expressions, intervals, sets,
matrices and equations. A grading worker (`python -m evaluation.verify_worker SECONDS`, JSON
lines on stdin/stdout) runs it in its main thread under one alarm per item, and
`evaluation.grading_pool` adds a hard wall-clock kill on top, because an alarm cannot interrupt
long C-level work such as a huge integer power.

Why our own alarm rather than math-verify's: math-verify's timeouts are whole seconds, apply to
each parse and each comparison separately, and end silently in "not equivalent", so a slow item
could not be told from a wrong one. Ours covers the whole item (fractions of a second allowed),
raises `ItemTimeout` (a BaseException, so no `except Exception` inside math-verify or SymPy
swallows it) and is answered as error "timeout", which the pool retries once.

A task is one JSON line {"preds": [reading, ...], "gold": ..., "seconds": S}: the readings of
one prediction (the extracted answer, and e.g. its decimal-comma spelling) count as equivalent
when any of them is, all within the item's S seconds. Relations and sets are compared both ways
(`allow_set_relation_comp`), so "x \\leq 3" answers "(-\\infty, 3]" as "(-\\infty, 3]" answers
"x \\leq 3".
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from functools import lru_cache
from typing import Any

GOLD_UNPARSEABLE = "gold_unparseable"
TIMEOUT = "timeout"
# math-verify logs parse failures at WARNING, and once that its own timeouts are off (ours is on).
logging.getLogger("math_verify").setLevel(logging.CRITICAL)


class ItemTimeout(BaseException):
    """The item's alarm went off."""


@lru_cache(maxsize=4096)
def _parse(answer: str) -> tuple[Any, ...]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    # The answer is already extracted: box it so LaTeX extraction reads it whole, with plain
    # expressions ("1/2", "x=3") as the second reading.
    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    wrapped = "\\boxed{" + answer + "}"
    return tuple(parse(wrapped, extraction_config=config, parsing_timeout=None))


def equivalent(preds: str | list[str], gold: str) -> bool:
    """True iff math-verify finds any reading in `preds` equivalent to `gold` (no time limit:
    call it under `within`).

    Raises ValueError(GOLD_UNPARSEABLE) when the gold answer cannot be parsed at all, because a
    gold that cannot be graded is a data bug, not a wrong answer.
    """
    from math_verify import verify

    gold_parsed = _parse(gold)
    if not gold_parsed:
        raise ValueError(GOLD_UNPARSEABLE)
    for pred in [preds] if isinstance(preds, str) else preds:
        pred_parsed = _parse(pred)
        if pred_parsed and verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None,
                                  allow_set_relation_comp=True):
            return True
    return False


def within(seconds: float, preds: str | list[str], gold: str) -> bool:
    """`equivalent` under an alarm of `seconds`; raises ItemTimeout when it goes off."""

    def ring(signum: int, frame: Any) -> None:
        raise ItemTimeout

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return equivalent(preds, gold)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _answer(line: str, seconds: float) -> dict[str, Any]:
    try:
        task = json.loads(line)
        preds = task["preds"] if "preds" in task else task["pred"]
        budget = float(task.get("seconds", seconds))
        if not isinstance(preds, (str, list)) or not all(isinstance(p, str) for p in preds):
            raise ValueError("preds: not a string or a list of strings")
        return {"ok": within(budget, preds, str(task["gold"])), "error": None}
    except ItemTimeout:
        return {"ok": False, "error": TIMEOUT}
    except ValueError as err:
        known = str(err) == GOLD_UNPARSEABLE
        return {"ok": False, "error": str(err) if known else f"error: {type(err).__name__}"}
    except Exception as err:  # noqa: BLE001  any math-verify failure grades as wrong, counted
        return {"ok": False, "error": f"error: {type(err).__name__}"}


def serve(seconds: float) -> None:
    """Worker main loop: one JSON task per stdin line, one {ok, error} line back."""
    import math_verify  # noqa: F401  (import cost paid once, before the first task)

    # "ready" tells the pool to start the per-item clock only now, after the imports.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_answer(line, seconds)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0)
