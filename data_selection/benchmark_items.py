"""Benchmark texts to decontaminate against: each record's question, solution and final answer.

Records are read by the one problem normaliser (``inputs.problems.read_problems``), so a file may
be raw GSM8K layout, raw MATH / MATH-500 layout or already normalised (``data/benchmarks/*.jsonl``),
and a hub split is named by the one hub grammar, ``hf:NAME[:CONFIG]@SPLIT`` (``inputs.hub``).

Item ids read ``SOURCE|RECORD_ID:FIELD`` (e.g. ``math|test/algebra/1.json:question``), so a report
says which part of which benchmark record a page matched. SOURCE, the benchmark's name, is:
  - for an already-normalised record, its own ``source`` field (e.g. ``gsm8k``, ``math500``);
  - for a raw file, a name given explicitly as ``NAME=PATH``; else, when every record id reads
    ``NAME-SPLIT/N`` (the synthetic world's ``synthetic-test/3``), that NAME; else the file's
    folder when its stem is a split name (``.../gsm8k/test.jsonl`` -> ``gsm8k``), else its stem;
  - for a hub split, the dataset's last name part, lower-cased (``hf:openai/gsm8k:main@test`` ->
    ``gsm8k``, ``hf:HuggingFaceH4/MATH-500@test`` -> ``math-500``).
Which items are matched, and how, is the matcher's business (``data_selection.decontaminate``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from inputs.hub import is_hub_spec, parse_hub_spec
from inputs.problems import read_problems

FIELDS = ("question", "solution", "answer")
SPLITS = frozenset({"test", "train", "dev", "val", "valid", "validation"})
# `synthetic-test/3`: a name, a split, a number; every record must agree for the name to be used.
_SELF_NAMED_ID = re.compile(r"^([A-Za-z0-9_.]+)-(?:" + "|".join(sorted(SPLITS)) + r")/\d+$")


@dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark text: a question, a solution or a final answer of one record."""

    source: str  # benchmark name, e.g. "gsm8k"
    record_id: str  # the record's id inside its benchmark
    field: str  # one of FIELDS
    text: str

    @property
    def id(self) -> str:
        return f"{self.source}|{self.record_id}:{self.field}"


def records_items(records: Iterable[dict]) -> list[BenchmarkItem]:
    """Items of normalised records (``inputs.problems`` layout), three per record, in order.

    The normaliser guarantees a non-empty question and answer; an empty solution (possible in
    an already-normalised file) gives no item.
    """
    return [BenchmarkItem(r["source"], r["id"], f, r[f]) for r in records for f in FIELDS
            if isinstance(r[f], str) and r[f].strip()]


def split_name(arg: str) -> tuple[str | None, str]:
    """``NAME=PATH`` -> (NAME, PATH); a bare path or hub spec -> (None, it)."""
    name, sep, rest = arg.partition("=")
    if sep and name and "/" not in name and not is_hub_spec(arg):
        return name, rest
    return None, arg


def path_name(path: str | Path) -> str:
    """A raw file's benchmark name from its path: the folder when the stem is a split name."""
    p = Path(path)
    return p.parent.name if p.stem.lower() in SPLITS and p.parent.name else p.stem


def hub_name(spec: str) -> str:
    return parse_hub_spec(spec).name.rsplit("/", 1)[-1].lower()


def _self_name(records: list[dict]) -> str | None:
    names = {m.group(1) if (m := _SELF_NAMED_ID.match(r["id"])) else None for r in records}
    return names.pop() if len(names) == 1 and None not in names else None


def read_benchmark(arg: str, counts: Counter[str] | None = None) -> list[dict]:
    """Normalised records of one benchmark: ``[NAME=]PATH`` or a hub spec (see the module doc).

    ``counts`` receives the normaliser's counts (records, layouts, ``skipped_<reason>``).
    """
    name, source = split_name(arg)
    if is_hub_spec(source):
        return read_problems(source, name or hub_name(source), counts)
    guessed = path_name(source)
    try:
        records = read_problems(source, name or guessed, counts)
    except ValueError as err:  # "no usable problems": say which file
        raise ValueError(f"{source}: {err}") from None
    own = None if name else _self_name(records)
    # Only records that took the path's name are renamed: normalised ones keep their own source.
    if own is not None and all(r["source"] == guessed for r in records):
        records = [r | {"source": own} for r in records]
    return records


def benchmark_items(arg: str | Path, counts: Counter[str] | None = None) -> list[BenchmarkItem]:
    """Items of one benchmark (``[NAME=]PATH`` or ``hf:NAME[:CONFIG]@SPLIT``)."""
    return records_items(read_benchmark(str(arg), counts))


def read_benchmarks(args: Iterable[str | Path]) -> tuple[list[BenchmarkItem], dict[str, dict[str, int]]]:
    """Items of several benchmarks, and each argument's normaliser counts (keyed by the argument)."""
    items: list[BenchmarkItem] = []
    counts: dict[str, dict[str, int]] = {}
    for arg in args:
        c: Counter[str] = Counter()
        items += benchmark_items(arg, c)
        counts[str(arg)] = dict(sorted(c.items()))
    return items, counts
