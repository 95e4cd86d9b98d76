"""Benchmarks (GSM8K, MATH, MATH-500, the synthetic split) as one normalised record layout.

Every loader returns records {id, question, gold, solution, level, subject}:
  - GSM8K layout (`question`, `answer` ending in `#### N`): gold is N; no level or subject.
  - MATH layout (`problem`, `solution`, optional `answer`, `level`, `type`/`subject`): gold is
    the content of the solution's last `\\boxed{}` / `\\fbox{}` (braces nest), the dataset's own
    `answer` field only when the solution has no box; level "Level 3" or 3 becomes 3 ("Level ?"
    becomes None); the subject comes from `type` (MATH) or `subject` (MATH-500).
  - already normalised records (a `gold` field) pass through.
The layout is detected per record. Sources are local JSONL paths or, when online, hub datasets
named `hf:NAME[:CONFIG]@SPLIT` loaded with `datasets` (e.g. `hf:openai/gsm8k:main@test`).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from data_selection.jsonl import read_jsonl
from evaluation.extract import last_boxed
from evaluation.prompts import gold_answer

_LEVEL_RE = re.compile(r"(\d+)")
_HUB_RE = re.compile(r"^hf:(?P<name>[^:@]+)(?::(?P<config>[^@]+))?@(?P<split>.+)$")


def detect_layout(record: dict) -> str:
    """"normalized", "gsm8k" or "math"; ValueError naming the keys for anything else."""
    if isinstance(record.get("gold"), str) and isinstance(record.get("question"), str):
        return "normalized"
    if isinstance(record.get("question"), str) and isinstance(record.get("answer"), str):
        return "gsm8k"
    if isinstance(record.get("problem"), str) and isinstance(record.get("solution"), str):
        return "math"
    raise ValueError(f"record: unknown benchmark layout with keys {sorted(record)}")


def _level(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _LEVEL_RE.search(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def math_gold(solution: str, answer_field: str | None = None) -> str:
    """The last boxed answer of a MATH solution, else the dataset's `answer` field."""
    boxed = last_boxed(solution)
    if boxed:
        return boxed
    if answer_field and answer_field.strip():
        return answer_field.strip()
    raise ValueError(f"solution: no \\boxed{{}} answer in {solution[:200]!r}")


def normalize(record: dict, name: str, index: int) -> dict:
    """One record in the normalised layout; `name/index` is the id when the record has none."""
    layout = detect_layout(record)
    rid = str(record.get("id") or record.get("unique_id") or f"{name}/{index}")
    if layout == "normalized":
        return {"id": rid, "question": record["question"], "gold": record["gold"],
                "solution": record.get("solution", ""), "level": record.get("level"),
                "subject": record.get("subject")}
    if layout == "gsm8k":
        return {"id": rid, "question": record["question"], "gold": gold_answer(record["answer"]),
                "solution": record["answer"], "level": None, "subject": None}
    subject = record.get("subject") or record.get("type")
    return {"id": rid, "question": record["problem"],
            "gold": math_gold(record["solution"], record.get("answer")),
            "solution": record["solution"], "level": _level(record.get("level")),
            "subject": subject if isinstance(subject, str) else None}


def normalize_all(records: Iterable[dict], name: str) -> tuple[list[dict], Counter[str]]:
    """Normalised records and counts: items, layouts, and gold vs `answer` field agreement."""
    out: list[dict] = []
    counts: Counter[str] = Counter()
    for index, record in enumerate(records):
        item = normalize(record, name, index)
        counts[f"layout_{detect_layout(record)}"] += 1
        if isinstance(record.get("answer"), str) and detect_layout(record) == "math":
            same = item["gold"] == record["answer"].strip()
            counts["gold_equals_answer_field" if same else "gold_differs_from_answer_field"] += 1
        out.append(item)
    if not out:
        raise ValueError(f"{name}: no benchmark records")
    counts["items"] = len(out)
    return out, counts


def load_hub(spec: str) -> list[dict]:
    """Rows of a hub dataset `hf:NAME[:CONFIG]@SPLIT` (needs `datasets` and the network)."""
    match = _HUB_RE.match(spec)
    if not match:
        raise ValueError(f"source: expected hf:NAME[:CONFIG]@SPLIT, got {spec!r}")
    import datasets

    rows = datasets.load_dataset(match["name"], match["config"], split=match["split"])
    return [dict(row) for row in rows]


def load_benchmark(source: str, name: str, skipped: Counter[str] | None = None) -> list[dict]:
    """Normalised records of a local JSONL file or a hub dataset (see the module docstring)."""
    if source.startswith("hf:"):
        records = load_hub(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"benchmark {name}: not found: {source}")
        records = list(read_jsonl(path, skipped))
    return normalize_all(records, name)[0]
