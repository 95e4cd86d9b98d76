"""The one normaliser of math problems: GSM8K, MATH, MATH-500 and the synthetic problems become
one record layout, read alike by SFT, RL, reward-model data, evaluation and decontamination.

    {"id", "question", "solution", "answer", "source", "level", "subject"}

Layouts, detected per record from its keys:
  - MATH (`problem`, `solution`, optional `answer`, `level`, `type` or `subject`): the answer is
    the content of the solution's last `\\boxed{}` / `\\fbox{}` (braces nest), the record's own
    `answer` field only when the solution has no box; "Level 3" or 3 becomes 3 ("Level ?":
    None); the subject is `type` (MATH) or `subject` (MATH-500).
  - GSM8K (`question`, `answer` ending in a `#### N` line; the synthetic problems use it too):
    the answer is N and the solution is the whole `answer` field.
  - normalised (`question`, `solution`, `answer`): passes through (an output read again).
A record that fits none, or lacks a question, a solution or a gold answer, is skipped and
counted under its reason (`unknown_layout`, `missing_question`, `missing_solution`,
`missing_answer`); a source with no usable record is an error naming it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from inputs.latex import last_boxed

FIELDS = ("id", "question", "solution", "answer", "source", "level", "subject")
LAYOUTS = ("math", "gsm8k", "normalized")
# One "#### N" line; the last one wins if a solution (oddly) contains several.
_GOLD_LINE = re.compile(r"^[ \t]*####[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)
_LEVEL_RE = re.compile(r"(\d+)")


class BadProblem(ValueError):
    """A record that cannot be a problem; `reason` is the key it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def detect_layout(record: dict) -> str:
    """"math", "gsm8k" or "normalized" from the record's keys; BadProblem otherwise."""
    if "problem" in record:
        return "math"
    if "question" in record and "solution" in record:
        return "normalized"
    if "question" in record and "answer" in record:
        return "gsm8k"
    raise BadProblem("unknown_layout", f"no question/answer (GSM8K) or problem/solution (MATH) in keys {sorted(record)}")


def gsm8k_answer(answer_field: str) -> str:
    """N from the last `#### N` line of a GSM8K-layout answer field; BadProblem without one."""
    matches = _GOLD_LINE.findall(answer_field)
    if not matches:
        shown = answer_field if len(answer_field) <= 200 else answer_field[:200] + "..."
        raise BadProblem("missing_answer", f"no '#### N' line in {shown!r}")
    return matches[-1]


def math_answer(solution: str, answer_field: Any = None) -> str:
    """The last boxed answer of a MATH solution, else the record's `answer` field."""
    boxed = last_boxed(solution)
    if boxed:
        return boxed
    if isinstance(answer_field, str) and answer_field.strip():
        return answer_field.strip()
    raise BadProblem("missing_answer", f"no \\boxed{{}} answer in {solution[:200]!r}")


def _level(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _LEVEL_RE.search(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def _text(record: dict, key: str, reason: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadProblem(reason, f"`{key}` must be a non-empty string, got {value!r:.80}")
    return value


def normalize(record: dict, source: str, index: int) -> dict:
    """One record in the normalised layout; `source/index` is the id when the record has none."""
    layout = detect_layout(record)
    rid = record.get("id") or record.get("unique_id") or f"{source}/{index}"
    if layout == "math":
        question = _text(record, "problem", "missing_question")
        solution = _text(record, "solution", "missing_solution")
        answer = math_answer(solution, record.get("answer"))
        subject = record.get("subject") or record.get("type")
        level, subject = _level(record.get("level")), subject if isinstance(subject, str) else None
    elif layout == "gsm8k":
        question = _text(record, "question", "missing_question")
        solution = _text(record, "answer", "missing_answer")
        answer, level, subject = gsm8k_answer(solution), None, None
    else:
        question = _text(record, "question", "missing_question")
        answer = _text(record, "answer", "missing_answer").strip()
        solution = record["solution"] if isinstance(record["solution"], str) else ""
        level, subject = _level(record.get("level")), record.get("subject")
        source = record.get("source") if isinstance(record.get("source"), str) else source
    return {"id": str(rid), "question": question, "solution": solution, "answer": answer, "source": source,
            "level": level, "subject": subject if isinstance(subject, str) else None}


def normalize_all(records: Iterable[dict], source: str, counts: Counter[str] | None = None) -> list[dict]:
    """Normalised records of one source; skips are counted in `counts` as `skipped_<reason>`.

    Also counted: `records`, `layout_<name>`, and for MATH records that carry an `answer` field
    whether the boxed answer equals it (`answer_equals_field` / `answer_differs_from_field`).
    """
    counts = counts if counts is not None else Counter()
    out: list[dict] = []
    for index, record in enumerate(records):
        counts["records"] += 1
        try:
            item = normalize(record, source, index)
        except BadProblem as err:
            counts[f"skipped_{err.reason}"] += 1
            continue
        layout = detect_layout(record)
        counts[f"layout_{layout}"] += 1
        if layout == "math" and isinstance(record.get("answer"), str):
            same = item["answer"] == record["answer"].strip()
            counts["answer_equals_field" if same else "answer_differs_from_field"] += 1
        out.append(item)
    if not out:
        raise ValueError(f"{source}: no usable problems in {counts['records']} records ({dict(counts)})")
    return out


def skip_counts(counts: Counter[str]) -> dict[str, int]:
    """The `skipped_*` entries of a normaliser's counts, by reason."""
    return {k.removeprefix("skipped_"): v for k, v in sorted(counts.items()) if k.startswith("skipped_")}


def read_problems(source: str, name: str, counts: Counter[str] | None = None) -> list[dict]:
    """Normalised problems of a local JSONL file or a hub spec (`hf:NAME[:CONFIG]@SPLIT`).

    A missing file raises FileNotFoundError naming `name` and the path; malformed JSON lines are
    counted (`bad_json`, `not_object`) like every other skip.
    """
    from inputs.hub import is_hub_spec, iter_hub_rows
    from inputs.jsonl import read_jsonl

    counts = counts if counts is not None else Counter()
    if is_hub_spec(source):
        rows: Iterable[dict] = iter_hub_rows(source)
    else:
        try:
            rows = read_jsonl(source, counts)
        except FileNotFoundError:
            raise FileNotFoundError(f"{name}: file not found: {source}") from None
    return normalize_all(rows, name, counts)
