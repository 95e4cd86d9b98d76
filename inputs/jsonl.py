"""JSON Lines and JSON I/O for the data-selection stages.

Reading is tolerant: a malformed line (bad JSON, or JSON that is not an object) is skipped and
counted under a reason, never silently lost, so a stage can report it in its metrics. Writing is
atomic (temp file in the same directory, fsync, ``os.replace``) so an interrupted stage never
leaves a half-written output that DVC would cache.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterable, Iterator


def read_jsonl(path: str | os.PathLike[str], skipped: Counter[str] | None = None) -> Iterator[dict]:
    """Yield the JSON objects of ``path``, one per non-blank line.

    Malformed lines are skipped and counted in ``skipped`` (if given) under "bad_json" or
    "not_object". Raises ``FileNotFoundError`` (naming the path) at call time, not at first
    iteration, so a missing input fails where the stage opens it.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"JSONL input not found: {p}")
    return _iter_jsonl(p, skipped if skipped is not None else Counter())


def parse_record(line: str | bytes, skipped: Counter[str]) -> dict | None:
    """One JSONL line as a dict, or None (blank lines silently, malformed ones counted)."""
    if not line.strip():
        return None  # a trailing blank line is not a record and not an error
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        skipped["bad_json"] += 1
        return None
    if not isinstance(obj, dict):
        skipped["not_object"] += 1
        return None
    return obj


def _iter_jsonl(path: Path, skipped: Counter[str]) -> Iterator[dict]:
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            obj = parse_record(line, skipped)
            if obj is not None:
                yield obj


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """A file that replaces ``path`` only when the block ends without an error ("w" or "wb")."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target so os.replace is a rename on one filesystem (atomic).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def _atomic_write_text(path: str | os.PathLike[str], chunks: Iterable[str]) -> None:
    with atomic_open(path, "w") as fh:
        for chunk in chunks:
            fh.write(chunk)


def write_jsonl_atomic(path: str | os.PathLike[str], records: Iterable[dict]) -> int:
    """Write ``records`` as JSON Lines to ``path`` atomically; return the number written."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for rec in records:
            count += 1
            yield json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"

    _atomic_write_text(path, lines())
    return count


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (sorted keys) to ``path`` atomically."""
    _atomic_write_text(path, [json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"])


METRIC_DIGITS = 4  # beyond this the digits are noise, and they make diffs and `dvc exp show` unreadable


def rounded(value: Any) -> Any:
    """`value` with every float rounded to METRIC_DIGITS decimals, in nested dicts and lists too;
    a float under 0.001 in size keeps METRIC_DIGITS significant digits instead, so that a KL of
    3e-5 or a learning rate of 2e-6 is not written as 0.

    Ints (counts) and bools stay as they are. NaN and infinities become None: JSON cannot hold
    them, and `dvc metrics` could not parse the file."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value == 0.0 or abs(value) >= 1e-3:
            return round(value, METRIC_DIGITS) + 0.0  # + 0.0: no "-0.0" in the files
        return float(f"{value:.{METRIC_DIGITS}g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


def write_metrics_atomic(path: str | os.PathLike[str], metrics: Any) -> None:
    """A stage's metrics JSON, floats `rounded`: every stage writes its metrics through here, so
    the rounding rule lives in one place."""
    write_json_atomic(path, rounded(metrics))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (reports and other plain-text outputs)."""
    _atomic_write_text(path, [text])


def count_by(path: str | os.PathLike[str], key: str, missing: str) -> dict[str, int]:
    """Records of a JSONL file per value of `key` (`missing` when absent), in one streaming pass:
    what a stage reports as records per source without holding the records."""
    counts: Counter[str] = Counter()
    for record in read_jsonl(path):
        value = record.get(key)
        counts[str(value) if value else missing] += 1
    return dict(sorted(counts.items()))


class JsonlTexts:
    """The `text` of a JSONL file's records with string `url` and `text`, read on demand by index.

    Holds one byte offset per record (8 bytes), not the texts: a seed corpus of 500K pages (the
    paper's OpenWebMath sample) costs 4 MB in the mining driver, and each round reads only the
    positives it samples. Records without `url` and `text` are counted in `skipped`
    (`missing_url_or_text`) and not indexed.
    """

    def __init__(self, path: str | os.PathLike[str], skipped: Counter[str]) -> None:
        import numpy as np

        self.path = Path(path)
        offsets = []
        with self.path.open("rb") as fh:
            pos = 0
            for line in fh:
                record = parse_record(line, skipped)
                if record is not None:
                    if isinstance(record.get("url"), str) and isinstance(record.get("text"), str):
                        offsets.append(pos)
                    else:
                        skipped["missing_url_or_text"] += 1
                pos += len(line)
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> str:
        with self.path.open("rb") as fh:
            fh.seek(int(self.offsets[i]))
            return json.loads(fh.readline())["text"]
