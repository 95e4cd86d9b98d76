"""Grade a JSONL file of {"gold": ..., "pred": ...} lines with the project's one grader.

Usage: python -m evaluation.grade FILE.jsonl      (or "-" to read standard input)

`pred` may be a bare answer ("\\frac{1}{2}") or a whole completion to extract the final answer
from (the last of #### N, \\boxed{...}, "The answer is ...", else the last LaTeX span or number);
`gold` is a bare answer, and a `pred` identical to it is always correct.
Every input line is written back to standard output, in input order, as the same JSON object
with a boolean "correct" field added (lenient: any extracted answer counts). Lines that cannot
be graded (not JSON, not an object, missing or non-string gold/pred, gold that cannot be parsed,
grading timeout) get "correct": false and an "error" field saying why; a line that is not JSON
is echoed as {"line": TEXT}. Equivalence is math-verify's (numbers with commas or units,
fractions, LaTeX, intervals, sets, matrices, percent), run in worker processes with a hard
per-item timeout; an item that times out is retried once with 3x the timeout before it is
graded wrong. Model output is never executed. A summary goes to standard error: lines, correct,
errors, and the grading timeouts of the run (first-attempt timeouts retried, retries that
succeeded, items graded wrong by timeout).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from evaluation.grader import DEFAULT_TIMEOUT, DEFAULT_WORKERS, grade_many, grading_stats

_CHUNK = 2000  # lines graded per batch: bounded memory, output streams as it goes


def _parse_line(line: str) -> tuple[dict[str, Any], str | None]:
    try:
        obj = json.loads(line)
    except ValueError:
        return {"line": line.rstrip("\n")}, "not valid JSON"
    if not isinstance(obj, dict):
        return {"line": line.rstrip("\n")}, "not a JSON object"
    for key in ("gold", "pred"):
        if not isinstance(obj.get(key), str):
            return obj, f"missing or non-string {key!r}"
    return obj, None


def _grade_chunk(lines: list[str], out: TextIO, workers: int, timeout: float) -> tuple[int, int, int]:
    parsed = [_parse_line(line) for line in lines]
    todo = [i for i, (_, err) in enumerate(parsed) if err is None]
    grades = grade_many([parsed[i][0]["pred"] for i in todo], [parsed[i][0]["gold"] for i in todo],
                        workers=workers, timeout=timeout)
    by_index = dict(zip(todo, grades, strict=True))
    n_correct = n_error = 0
    for i, (obj, err) in enumerate(parsed):
        g = by_index.get(i)
        result = {**obj, "correct": bool(g and g.correct)}
        error = err or (g.error if g else None)
        if error:
            result["error"] = error
            n_error += 1
        n_correct += result["correct"]
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return len(lines), n_correct, n_error


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m evaluation.grade", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="JSONL with gold and pred fields, or - for standard input")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"hard seconds per item, 3x for its one retry (default {DEFAULT_TIMEOUT})")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"math-verify processes (default {DEFAULT_WORKERS})")
    args = p.parse_args(argv)
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    totals = [0, 0, 0]
    before = grading_stats()
    with source:
        chunk: list[str] = []
        for line in source:
            chunk.append(line)  # blank lines too: one output line per input line
            if len(chunk) == _CHUNK:
                totals = [a + b for a, b in zip(totals, _grade_chunk(chunk, sys.stdout, args.workers, args.timeout))]
                chunk = []
        if chunk:
            totals = [a + b for a, b in zip(totals, _grade_chunk(chunk, sys.stdout, args.workers, args.timeout))]
    sys.stdout.flush()
    run = grading_stats() - before
    print(f"graded {totals[0]} lines: {totals[1]} correct, {totals[2]} with errors; grading timeouts: "
          f"{run.retries} retried, {run.retry_successes} succeeded on retry, {run.timeouts} graded wrong",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
