"""What the `ingest` stage's ``--input`` values name: files (a path or a glob) and hub datasets,
and the format of each file.

The format comes from the name where the name says it, and from the first bytes otherwise (a
``.gz`` of unknown content, a file without extension): gzip is looked into, then ``WARC/`` is a
WARC file, ``filedesc://`` an ARC file, ``PAR1`` parquet and ``{`` JSON lines. Every value is
checked before any work starts, so a typo fails in one line naming it, not after hours.
"""

from __future__ import annotations

import glob
import zlib
from pathlib import Path

from inputs.hub import is_hub_spec, parse_hub_spec

FORMATS = ("warc", "wet", "arc", "jsonl", "parquet")
_GLOB_CHARS = set("*?[")
_SNIFF = 4096


def _format_from_name(name: str) -> str | None:
    name = name.lower()
    if ".wet" in name:
        return "wet"
    if ".warc" in name:  # also .warc.wat.gz: metadata records only, counted, no pages
        return "warc"
    if name.endswith((".jsonl", ".jsonl.gz", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".arc", ".arc.gz")):
        return "arc"
    return None


def _first_bytes(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
    if head.startswith(b"\x1f\x8b"):
        try:
            return zlib.decompressobj(31).decompress(head, _SNIFF)
        except zlib.error:
            return b""
    return head


def detect_format(path: str | Path) -> str:
    """One of ``FORMATS`` from the file name, or (an ambiguous name) from the first bytes."""
    fmt = _format_from_name(Path(path).name)
    if fmt is not None:
        return fmt
    head = _first_bytes(Path(path)) if Path(path).is_file() else b""
    if head.startswith(b"WARC/"):
        return "warc"
    if head.startswith(b"filedesc://"):
        return "arc"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    raise ValueError(f"{path}: unknown input format (expected WARC, WET, ARC (each gzipped or not), "
                     "JSONL or parquet, by name or by content)")


def expand_inputs(values: list[str]) -> list[str]:
    """Each input value as files (a glob expanded, sorted) or a hub spec kept as is.

    Raises (naming the value) on a path that does not exist, a glob that matches no file, a hub
    spec that does not parse, or a file of unknown format.
    """
    out: list[str] = []
    for value in values:
        if is_hub_spec(value):
            parse_hub_spec(value)
            out.append(value)
            continue
        if _GLOB_CHARS & set(value):
            files = sorted(p for p in glob.glob(value, recursive=True) if Path(p).is_file())
            if not files:
                raise FileNotFoundError(f"input {value!r}: the glob matches no file")
        elif Path(value).is_file():
            files = [value]
        else:
            raise FileNotFoundError(f"input {value!r}: no such file")
        for path in files:
            detect_format(path)
            out.append(path)
    return out


def source_name(value: str) -> str:
    """What pages from ``value`` carry as ``source``: the file name, or the hub spec."""
    return value if is_hub_spec(value) else Path(value).name
