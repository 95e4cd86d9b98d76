"""math-verify equivalence of two short answers; runs inside grading worker processes only.

math-verify parses LaTeX and plain expressions into SymPy (its own parser is the only place
model output reaches a parser) and compares numbers, fractions, expressions, intervals, sets,
matrices and equations. Its timeouts use `signal.alarm`, valid only in a process's main thread:
a grading worker (`python -m evaluation.verify_worker SECONDS`, JSON lines on stdin/stdout)
runs it in its main thread, and `evaluation.grading_pool` adds a hard
wall-clock kill on top, because an alarm cannot interrupt long C-level work such as a huge
integer power.
"""

from __future__ import annotations

import json
import logging
import sys
from functools import lru_cache
from typing import Any

GOLD_UNPARSEABLE = "gold_unparseable"
# math-verify logs every timeout and parse failure at WARNING; the pool counts them instead.
logging.getLogger("math_verify").setLevel(logging.CRITICAL)


@lru_cache(maxsize=4096)
def _parse(answer: str, seconds: int) -> tuple[Any, ...]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    # The answer is already extracted: box it so LaTeX extraction reads it whole, with plain
    # expressions ("1/2", "x=3") as the second reading.
    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    wrapped = "\\boxed{" + answer + "}"
    return tuple(parse(wrapped, extraction_config=config, parsing_timeout=seconds))


def equivalent(pred: str, gold: str, seconds: int) -> bool:
    """True iff math-verify finds `pred` equivalent to `gold`.

    Raises ValueError(GOLD_UNPARSEABLE) when the gold answer cannot be parsed at all, because a
    gold that cannot be graded is a data bug, not a wrong answer.
    """
    from math_verify import verify

    gold_parsed = _parse(gold, seconds)
    if not gold_parsed:
        raise ValueError(GOLD_UNPARSEABLE)
    pred_parsed = _parse(pred, seconds)
    if not pred_parsed:
        return False
    return bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=seconds))


def _answer(line: str, seconds: int) -> dict[str, Any]:
    try:
        task = json.loads(line)
        return {"ok": equivalent(str(task["pred"]), str(task["gold"]), seconds), "error": None}
    except ValueError as err:
        known = str(err) == GOLD_UNPARSEABLE
        return {"ok": False, "error": str(err) if known else f"error: {type(err).__name__}"}
    except Exception as err:  # noqa: BLE001  any math-verify failure grades as wrong, counted
        return {"ok": False, "error": f"error: {type(err).__name__}"}


def serve(seconds: int) -> None:
    """Worker main loop: one JSON task {pred, gold} per stdin line, one {ok, error} line back."""
    import math_verify  # noqa: F401  (import cost paid once, before the first task)

    # "ready" tells the pool to start the per-item clock only now, after the imports.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_answer(line, seconds)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
