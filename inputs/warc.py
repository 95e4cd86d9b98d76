"""WARC framing: the records of a WARC, WET or WAT file, whatever its version and line endings.

Reads WARC/1.0 and 1.1 and the pre-standard WARC/0.17 and 0.18 (Heritrix 1.x, early Internet
Archive files): all use the ``Name: value`` header block, so one parser serves them; field names
are matched case-insensitively (old writers spelled them ``Warc-Type``, ``Content-length``) and
a target URI in angle brackets (an erratum of the 1.1 spec that some writers followed) is
unwrapped. Header lines may end in CRLF or LF alone.

Why not fastwarc's iterator (shown in tests/inputs/test_crawl_archive.py): on a record whose
Content-Length is too long it returns the next record's header text as page bytes, when too
short it skips the rest without a sign, and a cut gzip member ends the file quietly. Here each
is counted and reading resumes at the next record (``inputs.framing``). Where a record carries a
``WARC-Block-Digest`` (Common Crawl's responses do) it is checked too, which also catches a
wrong length that happens to end on a record boundary.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from typing import Iterator

from inputs.byte_stream import ByteStream
from inputs.framing import Grammar, Record, iter_framed


def parse_fields(head: bytes) -> dict[str, str]:
    """``Name: value`` lines after the first line, names lower-cased; a folded line (starting
    with a space or tab) continues the previous value; the first of repeated names wins."""
    fields: dict[str, str] = {}
    last = None
    for line in head.decode("utf-8", "replace").splitlines()[1:]:
        if not line.strip():
            continue
        if line[0] in " \t":
            if last is not None:
                fields[last] = f"{fields[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        key = name.strip().lower()
        last = None
        if sep and key not in fields:  # a line without a colon carries nothing usable
            fields[key] = value.strip()
            last = key
    return fields


def _parse_head(head: bytes) -> tuple[dict[str, str], int | None]:
    fields = parse_fields(head)
    length = fields.get("content-length", "").strip()
    return fields, int(length) if length.isdigit() else None


_DIGESTS = frozenset({"sha1", "sha256", "sha512", "md5"})  # what writers use; others are not checked
GRAMMAR = Grammar(
    start=re.compile(rb"WARC/\d+\.\d+\r?\n"),
    # No line start required: after a corrupt gzip member the next record follows cut bytes.
    find=re.compile(rb"WARC/\d+\.\d+\r?\n[!-9;-~]+:"),
    head_end=re.compile(rb"\r?\n\r?\n"),
    parse_head=_parse_head,
)


def block_digest_mismatch(fields: dict[str, str], block: bytes) -> str | None:
    """"bad_digest" when ``WARC-Block-Digest`` names a hash the block does not have; None when it
    matches or is absent or unreadable (base32, as most writers, or hex, as some)."""
    algorithm, _, value = fields.get("warc-block-digest", "").partition(":")
    algorithm = algorithm.strip().lower().replace("-", "")
    if not value or algorithm not in _DIGESTS:
        return None
    digest = hashlib.new(algorithm, block).digest()
    value = value.strip()
    if value.upper().rstrip("=") == base64.b32encode(digest).decode().rstrip("=") or value.lower() == digest.hex():
        return None
    return "bad_digest"


def iter_warc_records(stream: ByteStream, max_bytes: int, counts: Counter[str],
                      verify_digests: bool = True) -> Iterator[Record]:
    """The records of a WARC stream (see ``inputs.framing.iter_framed`` for what is counted);
    with ``verify_digests``, a record whose block digest does not match is ``bad_digest``."""
    check = block_digest_mismatch if verify_digests else None
    for fields, block in iter_framed(stream, GRAMMAR, max_bytes, counts, check):
        url = fields.get("warc-target-uri", "").strip().strip("<>").strip() or None
        kind = fields.get("warc-type", "").strip().lower() or "unknown"
        yield Record(kind, url, fields.get("content-type", ""), fields, block)
