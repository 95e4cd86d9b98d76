"""Benchmark texts to decontaminate against, read from JSONL in GSM8K or MATH layout.

The layout is detected per file from its first record: GSM8K has `question`/`answer`, MATH has
`problem`/`solution` (and a derived `answer`). Each question, solution and answer becomes its own
item, so a report says which part of which benchmark item a page matched.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

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


def source_name(path: str | Path) -> str:
    """Benchmark label of a file: its folder and stem, e.g. ../shared/data/gsm8k/test.jsonl -> gsm8k/test."""
    p = Path(path)
    return f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem


def benchmark_items(path: str | Path, skipped: Counter[str]) -> list[tuple[str, str]]:
    """(item id, text) pairs, ids like `gsm8k/test|17:question`: source, "|", the record's id
    (else its line number), ":", the field."""
    path = Path(path)
    return records_items(read_jsonl(path, skipped), source_name(path), skipped, where=str(path))


def records_items(records: Iterable[dict], source: str, skipped: Counter[str],
                  where: str | None = None) -> list[tuple[str, str]]:
    """Items of benchmark records of one source (a file or a hub split); layout from the first."""
    items: list[tuple[str, str]] = []
    layout = None
    for line_no, record in enumerate(records):
        layout = layout or detect_layout(record, where or source)
        rid = record.get("id") or record.get("unique_id") or str(line_no)
        rid = f"{source}|{rid}"
        for field in LAYOUTS[layout]:
            text = record.get(field)
            if isinstance(text, str) and text.strip():
                items.append((f"{rid}:{field}", text))
            else:
                skipped[f"missing_{field}"] += 1
    if not items:
        raise ValueError(f"{where or source}: no benchmark items")
    return items


def hub_items(spec: str, skipped: Counter[str]) -> list[tuple[str, str]]:
    """Items of a Hugging Face hub split, ``name[:config]:split`` (needs the network or a cache)."""
    from datasets import load_dataset  # lazy: only the real profile names hub benchmarks

    parts = spec.split(":")
    name, config, split = (parts[0], None, parts[1]) if len(parts) == 2 else parts
    return records_items(iter(load_dataset(name, config, split=split)), f"{name}/{split}", skipped)
