"""An HTTP response as a crawler stored it -> status, headers and the body as the server meant it.

Crawlers store what came over the wire, more or less: Common Crawl removes the transfer and
content encodings and renames their headers (``X-Crawler-Transfer-Encoding``), but older crawls
and other crawlers keep ``Transfer-Encoding: chunked`` bodies chunked, keep gzip bodies
compressed, or keep the header while storing the body decoded. So the headers are hints, checked
against the bytes:
- header lines may end in CRLF or LF alone; folded lines continue the previous value;
- ``chunked``: de-chunked when the body starts with a valid chunk, else used as stored
  (``transfer_encoding_mislabeled``); a body cut mid-chunk keeps its decoded part (``body_cut``);
- ``gzip``/``x-gzip``/``deflate``: gzip, zlib-wrapped or raw deflate, whichever the bytes are (the
  label says little: servers send zlib or gzip as "deflate"); a body that is plainly not
  compressed is used as stored (``content_encoding_mislabeled``); a cut stream keeps its decoded
  part (``body_cut``); ``br`` by brotli. Decoding stops at ``max_bytes`` (a decompression bomb
  is ``huge``), and compressed bytes that do not decode are ``bad_content_encoding``.
fastwarc's ``auto_decode`` handles the well-labelled cases only: a raw-deflate body, or a
chunked/gzip label on a body stored decoded, raises and ends the whole file.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass

import brotli

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS = re.compile(rb"\s*HTTP/\d(?:\.\d)?\s+(\d{3})\b")
_CHUNK = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_PLAIN_SAMPLE = 512  # bytes looked at to tell text from compressed data
_IDENTITY = {"", "identity", "none"}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # as stored: still chunked / compressed if it was

    def charset(self) -> str | None:
        return charset_param(self.headers.get("content-type", ""))


def charset_param(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type value, if any (up to a comma: repeated
    Content-Type headers arrive joined, ``text/html; charset=utf-8, text/html``)."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        value = value.split(",")[0].strip("\"' ")
        if key.strip().lower() == "charset" and value:
            return value
    return None


def parse_response(block: bytes) -> HttpResponse | None:
    """Status line, headers and body of a stored response; None without an HTTP status line.

    Interim ``1xx`` responses stored before the final one (``100 Continue``) are skipped.
    """
    status = _STATUS.match(block)
    if status is None:
        return None
    end = _HEAD_END.search(block)
    head, body = (block[: end.start()], block[end.end():]) if end else (block, b"")
    if 100 <= int(status[1]) < 200 and _STATUS.match(body):
        return parse_response(body)
    headers: dict[str, str] = {}
    last = None
    for line in head.decode("latin-1").splitlines()[1:]:
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        if not sep:
            last = None
            continue
        last = name.strip().lower()
        headers[last] = f"{headers[last]}, {value.strip()}" if last in headers else value.strip()
    return HttpResponse(int(status[1]), headers, body)


def dechunk(body: bytes) -> tuple[bytes, str]:
    """(data, state): state "ok", "not_chunked" (body returned as is) or "cut" (ends mid-chunk)."""
    parts, pos = [], 0
    while True:
        size = _CHUNK.match(body, pos)
        if size is None:
            return (body, "not_chunked") if pos == 0 else (b"".join(parts), "cut")
        n, start = int(size[1], 16), size.end()
        if n == 0:
            return b"".join(parts), "ok"
        data = body[start : start + n]
        after = body[start + n : start + n + 2]
        if len(data) < n or not after:
            if pos == 0:
                return body, "not_chunked"
            return b"".join(parts) + data, "cut"
        if not (after == b"\r\n" or after[:1] == b"\n"):
            return (body, "not_chunked") if pos == 0 else (b"".join(parts), "cut")
        parts.append(data)
        pos = start + n + (2 if after == b"\r\n" else 1)


def _looks_plain(body: bytes) -> bool:
    """Text, not compressed data: no NUL and almost no other control bytes in the first bytes."""
    sample = body[:_PLAIN_SAMPLE]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D))
    return b"\x00" not in sample and controls <= len(sample) // 100


def _inflate(body: bytes, max_bytes: int) -> tuple[bytes | None, bool]:
    """(decoded bytes or None when not deflate data, complete?) for gzip, zlib or raw deflate."""
    is_zlib = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    if body.startswith(b"\x1f\x8b") or is_zlib:
        wbits = 47  # gzip or zlib, told apart by zlib from the header
    elif _looks_plain(body):
        return None, True
    else:
        wbits = -15  # raw deflate, the old IIS "deflate"
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, max_bytes + 1)
    except zlib.error:
        raise ValueError("bad deflate data") from None
    return out, d.eof or len(out) > max_bytes


def _unbrotli(body: bytes, max_bytes: int) -> tuple[bytes | None, bool]:
    if _looks_plain(body):
        return None, True
    d = brotli.Decompressor()
    try:
        out = d.process(body, output_buffer_limit=max_bytes + 1)
    except brotli.error:
        raise ValueError("bad brotli data") from None
    return out, d.is_finished() or len(out) > max_bytes


def decoded_body(response: HttpResponse, max_bytes: int, counts: Counter[str]) -> bytes | None:
    """The body with transfer and content encodings undone; None when unusable (counted:
    ``huge``, ``bad_content_encoding``, ``content_encoding_unsupported``)."""
    body = response.body
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        body, state = dechunk(body)
        if state == "not_chunked":
            counts["transfer_encoding_mislabeled"] += 1
        elif state == "cut":
            counts["body_cut"] += 1
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    for coding in reversed([c for c in codings if c not in _IDENTITY]):
        if coding in ("gzip", "x-gzip", "deflate"):
            decode = _inflate
        elif coding == "br":
            decode = _unbrotli
        elif _looks_plain(body):  # e.g. "Content-Encoding: utf-8": a charset in the wrong header
            counts["content_encoding_mislabeled"] += 1
            continue
        else:
            counts["content_encoding_unsupported"] += 1
            return None
        try:
            out, complete = decode(body, max_bytes)
        except ValueError:
            counts["bad_content_encoding"] += 1
            return None
        if out is None:
            counts["content_encoding_mislabeled"] += 1
            continue
        if not complete:
            counts["body_cut"] += 1
        body = out
    if len(body) > max_bytes:
        counts["huge"] += 1
        return None
    return body
