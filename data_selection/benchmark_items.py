"""Benchmark texts to decontaminate against, read from JSONL in GSM8K or MATH layout.

The layout is detected per file from its first record: GSM8K has `question`/`answer`, MATH has
`problem`/`solution` (and a derived `answer`). Each question, solution and answer becomes its own
item, so a report says which part of which benchmark item a page matched.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from data_selection.jsonl import read_jsonl

LAYOUTS = {
    "gsm8k": ("question", "answer"),
    "math": ("problem", "solution", "answer"),
}


def detect_layout(record: dict, source: str) -> str:
    for name, fields in LAYOUTS.items():
        if all(f in record for f in fields[:2]):
            return name
    raise ValueError(f"{source}: unknown benchmark layout; expected fields question/answer (GSM8K) "
                     f"or problem/solution (MATH), got {sorted(record)}")


def benchmark_items(path: str | Path, skipped: Counter[str]) -> list[tuple[str, str]]:
    """(item id, text) pairs, ids like `test/17:question` (the record's id, else file:line)."""
    path = Path(path)
    items: list[tuple[str, str]] = []
    layout = None
    for line_no, record in enumerate(read_jsonl(path, skipped)):
        layout = layout or detect_layout(record, str(path))
        rid = record.get("id") or record.get("unique_id") or f"{path.stem}:{line_no}"
        for field in LAYOUTS[layout]:
            text = record.get(field)
            if isinstance(text, str) and text.strip():
                items.append((f"{rid}:{field}", text))
            else:
                skipped[f"missing_{field}"] += 1
    if not items:
        raise ValueError(f"{path}: no benchmark items")
    return items
