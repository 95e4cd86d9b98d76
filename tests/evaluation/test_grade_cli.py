"""`python -m evaluation.grade` as a subprocess: one output line per input line, in order."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINES = [
    '{"gold": "0.5", "pred": "\\\\frac{1}{2}"}',
    "not json",
    '{"gold": "3", "pred": "so the answer is $\\\\boxed{3}$", "id": 7}',
    "[1, 2]",
    '{"gold": "12", "pred": "we get 11"}',
    '{"gold": "(-\\\\infty, 3]", "pred": "(-\\\\infty,3]"}',
    '{"gold": "5"}',
    "",
    '{"gold": "1,000", "pred": "#### 1000"}',
]


def run(args, stdin=None):
    return subprocess.run([sys.executable, "-m", "evaluation.grade", *args], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def check(stdout: str) -> None:
    out = [json.loads(line) for line in stdout.splitlines()]
    assert len(out) == len(LINES)
    assert [o["correct"] for o in out] == [True, False, True, False, False, True, False, False, True]
    assert out[1] == {"line": "not json", "correct": False, "error": "not valid JSON"}
    assert out[2]["id"] == 7 and "error" not in out[2]
    assert out[3]["error"] == "not a JSON object"
    assert out[6]["error"] == "missing or non-string 'pred'"


def test_grade_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    done = run([str(path)])
    assert done.returncode == 0, done.stderr
    check(done.stdout)
    assert "graded 9 lines: 4 correct" in done.stderr


def test_grade_stdin():
    done = run(["-"], stdin="\n".join(LINES) + "\n")
    assert done.returncode == 0, done.stderr
    check(done.stdout)


def test_help_documents_the_format():
    done = run(["--help"])
    assert done.returncode == 0
    assert '"correct"' in done.stdout and "standard input" in done.stdout and '"error"' in done.stdout
