"""What WARC and ARC framing share: the record they yield, and reading one header + block after
another while checking that each record ends where its declared length says.

Both formats give each record a declared length. Crawlers get it wrong now and then (a block
rewritten after its header, a file cut and appended to), so after reading a block the framing
checks that the next bytes are blank lines and then end of file or the start of a record. When
they are not, the length was wrong: the record is counted ``bad_record`` and dropped (a block
read with a wrong length holds either a cut page or the next record's header text), and reading
resumes at the first record start found after the record's own header: inside the block when
the length was too long (so the next record is not lost), after it when too short.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Generic, Iterator, TypeVar

from inputs.byte_stream import ByteStream

Head = TypeVar("Head")
_BLANK = re.compile(rb"[\r\n]*")
_MAX_HEADER = 1 << 16  # a header is well under 2 KiB; no end within 64 KiB means no header here


@dataclass(frozen=True)
class Record:
    """One archive record with its block read (the WARC block, or the ARC content).

    ``kind`` is the WARC-Type lower-cased ("response", "request", ...); an ARC record is
    "response" (HTTP URL) or "resource" (dns:, ftp: ...), and ARC's version block "filedesc".
    ``headers`` has lower-case names; ``content_type`` is the record's (not the HTTP) type.
    """

    kind: str
    url: str | None
    content_type: str
    headers: dict[str, str]
    block: bytes


@dataclass(frozen=True)
class Grammar(Generic[Head]):
    """How one format starts and heads a record."""

    start: re.Pattern[bytes]  # matches at a record's first byte
    find: re.Pattern[bytes]  # searched for to find the next record start after damage
    head_end: re.Pattern[bytes]  # the end of a record's header
    parse_head: Callable[[bytes], tuple[Head, int | None]]  # (parsed header, declared length)


def _ended_cleanly(stream: ByteStream, start: re.Pattern[bytes]) -> bool:
    """True (and the blank lines consumed) when the stream continues with optional blank lines,
    then end of input or a record start; nothing is consumed otherwise."""
    blank = stream.match(_BLANK) or 0
    if stream.has_more(blank) and stream.match(start, blank) is None:
        return False
    stream.skip(blank)
    return True


def _truncated(stream: ByteStream, counts: Counter[str]) -> None:
    counts["truncated_record"] += 1
    stream.mark_truncated()


def iter_framed(stream: ByteStream, grammar: Grammar[Head], max_bytes: int, counts: Counter[str],
                check: Callable[[Head, bytes], str | None] | None = None) -> Iterator[tuple[Head, bytes]]:
    """(parsed header, block) of every well-framed record with a block of at most ``max_bytes``.

    Counted: ``records`` (every header found), ``huge`` (block skipped unread), ``bad_record``
    (unusable header or wrong length), ``truncated_record`` (the file ends inside it; the
    stream is marked truncated) and ``skipped_garbage`` (bytes where a record should start).
    ``check`` (a block digest) can reject a block that looks well framed: a wrong length can
    land on a record boundary by chance; the reason it returns is counted and reading resumes
    inside the block as for a wrong length.
    """
    while True:
        _ended_cleanly(stream, grammar.start)  # blank lines before a record
        if stream.at_end():
            return
        if stream.match(grammar.start) is None:
            counts["skipped_garbage"] += 1
            stream.skip(1)
            if not stream.skip_to(grammar.find):
                return
            continue
        counts["records"] += 1
        end = stream.search(grammar.head_end, _MAX_HEADER)
        if end is None:
            if len(stream.peek(_MAX_HEADER)) < _MAX_HEADER:
                return _truncated(stream, counts)
            n = None
        else:
            head, n = grammar.parse_head(stream.read_to(end.end()))
        if n is None:
            counts["bad_record"] += 1
            stream.skip(1)
            if not stream.skip_to(grammar.find):
                return
            continue
        if n > max_bytes:
            if stream.skip(n) < n:
                return _truncated(stream, counts)
            if _ended_cleanly(stream, grammar.start):
                counts["huge"] += 1
            else:
                counts["bad_record"] += 1
                if not stream.skip_to(grammar.find):
                    return
            continue
        block = stream.read(n)
        if len(block) < n and not grammar.find.search(block, 1):
            return _truncated(stream, counts)
        if len(block) == n and _ended_cleanly(stream, grammar.start):
            rejected = check(head, block) if check is not None else None
            if rejected is None:
                yield head, block
                continue
            counts[rejected] += 1
        else:
            counts["bad_record"] += 1
        # Wrong length: put the block back (a record hidden in it by a too-long length is found
        # again) and resume at the next record start after this record's header.
        stream.unread(block[1:])
        if not stream.skip_to(grammar.find):
            return
