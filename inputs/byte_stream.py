"""A buffered byte stream over a plain or gzip file, for record framing that must recover.

Web archives are usually a series of gzip members (one per record), sometimes one member for the
whole file, sometimes not compressed at all. The framing (``inputs.warc``, ``inputs.arc``) needs
more than a file object gives: find a header end, look ahead past a record without consuming,
put bytes back when a record turns out to be too long, and scan forward to the next record.

Why not Python's ``gzip`` module or fastwarc's readers: both stop at the first corrupt member,
and fastwarc's iterator ends quietly at a truncated one (a page cut mid-text is returned as if
whole). Here a corrupt member is counted (``bad_gzip_member``) and decompression restarts at the
next gzip header, and a file that ends inside a member sets ``truncated``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b\x08"
_READ = 1 << 16  # raw bytes read per call
_OUT = 1 << 18  # most decompressed bytes produced per call: bounds memory on a gzip bomb
_OVERLAP = 8192  # bytes searched again after a fill: longer than any record-start pattern match


def _gunzip_chunks(fh: BinaryIO, head: bytes, counts: Counter[str], state: dict[str, bool]) -> Iterator[bytes]:
    """Decompressed bytes of every gzip member in ``head`` + the rest of ``fh``.

    A member that fails to decompress (bad data, bad CRC) is counted and skipped up to the next
    gzip magic; ``state["truncated"]`` is set when the file ends inside a member.
    """
    raw = head
    d = zlib.decompressobj(31)
    fed = False  # the current member has consumed input (so ending here is a truncation)
    while True:
        if not raw:
            raw = fh.read(_READ)
            if not raw:
                break
        if not fed and len(raw) < len(GZIP_MAGIC):
            more = fh.read(_READ)
            if more:
                raw += more
                continue
        if not fed and not raw.startswith(GZIP_MAGIC):
            # Between members: garbage (or trailing padding). Skip to the next member.
            counts["bad_gzip_member"] += 1
            raw = _skip_to_magic(fh, raw[1:])
            continue
        try:
            out = d.decompress(raw, _OUT)
            fed = True
            while d.unconsumed_tail:
                yield out
                out = d.decompress(d.unconsumed_tail, _OUT)
        except zlib.error:
            counts["bad_gzip_member"] += 1
            raw, d, fed = _skip_to_magic(fh, raw[1:]), zlib.decompressobj(31), False
            continue
        if out:
            yield out
        if d.eof:
            raw, d, fed = d.unused_data, zlib.decompressobj(31), False
        else:
            raw = b""
    if fed:
        try:
            rest = d.flush()  # output zlib still held when the last call hit the _OUT limit
        except zlib.error:
            rest = b""
        if rest:
            yield rest
        state["truncated"] = not d.eof


def _skip_to_magic(fh: BinaryIO, raw: bytes) -> bytes:
    """``raw`` (and more of ``fh``) from the next gzip magic on; empty at end of file."""
    while True:
        at = raw.find(GZIP_MAGIC)
        if at >= 0:
            return raw[at:]
        more = fh.read(_READ)
        if not more:
            return b""
        raw = raw[-(len(GZIP_MAGIC) - 1):] + more


def _plain_chunks(fh: BinaryIO, head: bytes) -> Iterator[bytes]:
    if head:
        yield head
    while chunk := fh.read(_READ):
        yield chunk


class ByteStream:
    """Decompressed bytes of one archive file with look-ahead, push-back and pattern search.

    Memory: the buffer holds at most what the caller asked for (a header, or a record block of
    at most ``max_bytes``) plus one decompressed chunk.
    """

    def __init__(self, fh: BinaryIO, counts: Counter[str]) -> None:
        head = fh.read(_READ)
        self.gzipped = head.startswith(GZIP_MAGIC)
        self._state = {"truncated": False}
        self._chunks = _gunzip_chunks(fh, head, counts, self._state) if self.gzipped else _plain_chunks(fh, head)
        self._buf = bytearray()
        self._pos = 0
        self._exhausted = False

    @property
    def truncated(self) -> bool:
        """The file ended inside a gzip member or (``mark_truncated``) inside a record."""
        return self._state["truncated"]

    def mark_truncated(self) -> None:
        self._state["truncated"] = True

    def _fill(self) -> bool:
        """Append one more chunk; False at end of input."""
        if self._exhausted:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._exhausted = True
            return False
        if self._pos > (1 << 20) or self._pos > len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += chunk
        return True

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def at_end(self) -> bool:
        return self._available() == 0 and not self._fill()

    def match(self, pattern: re.Pattern[bytes], offset: int = 0, ahead: int = 8192) -> int | None:
        """Length of ``pattern``'s match ``offset`` bytes ahead (with ``ahead`` more bytes buffered
        when the input has them), or None; nothing is consumed or copied."""
        while self._available() < offset + ahead and self._fill():
            pass
        found = pattern.match(self._buf, self._pos + offset)
        return None if found is None else found.end() - found.start()

    def has_more(self, offset: int = 0) -> bool:
        """Whether input remains ``offset`` bytes ahead."""
        while self._available() <= offset:
            if not self._fill():
                return False
        return True

    def peek(self, n: int) -> bytes:
        """Up to ``n`` next bytes, not consumed (fewer only at end of input)."""
        while self._available() < n and self._fill():
            pass
        return bytes(self._buf[self._pos : self._pos + n])

    def read(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer only at end of input)."""
        data = self.peek(n)
        self._pos += len(data)
        return data

    def skip(self, n: int) -> int:
        """Discard up to ``n`` bytes without holding them all; return how many were skipped."""
        done = 0
        while done < n:
            if not self._available() and not self._fill():
                break
            step = min(n - done, self._available())
            self._pos += step
            done += step
        return done

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of the stream (it is read again next)."""
        self._buf[: self._pos] = b""
        self._buf[0:0] = data
        self._pos = 0

    def search(self, pattern: re.Pattern[bytes], limit: int) -> re.Match[bytes] | None:
        """The first match of ``pattern`` starting within ``limit`` bytes; nothing is consumed.

        Positions in the match are buffer positions: pass ``match.end()`` to ``read_to`` before
        any other call. (Rescans from the read position after each fill: ``limit`` is a header
        size, a few chunks at most.)
        """
        while True:
            match = pattern.search(self._buf, self._pos, self._pos + limit + _OVERLAP)
            if match is not None and match.start() - self._pos <= limit:
                return match
            if self._available() >= limit + _OVERLAP or not self._fill():
                return None

    def read_to(self, end: int) -> bytes:
        """Consume and return the bytes up to buffer position ``end`` (from ``search``)."""
        data = bytes(self._buf[self._pos : end])
        self._pos = end
        return data

    def skip_to(self, pattern: re.Pattern[bytes]) -> bool:
        """Discard bytes until ``pattern`` matches (match start becomes the next byte); False if
        the input ends first (everything is then consumed)."""
        while True:
            match = pattern.search(self._buf, self._pos)
            if match is not None:
                self._pos = match.start()
                return True
            keep = max(self._pos, len(self._buf) - _OVERLAP)
            self._pos = keep
            if not self._fill():
                self._pos = len(self._buf)
                return False
