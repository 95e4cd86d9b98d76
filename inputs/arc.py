"""ARC framing: the records of an Internet Archive ARC file (version 1, and 2 read the same way).

An ARC file opens with a version block, ``filedesc://NAME IP DATE text/plain LENGTH`` and
LENGTH bytes whose first line is ``1 0 ...`` (version 1) or ``2 0 ...`` (version 2). Then each
record is one header line and its content, separated by a newline:

    version 1:  URL IP-address Archive-date Content-type Archive-length
    version 2:  URL IP-address Archive-date Content-type Result-code Checksum Location Offset
                Filename Archive-length

The content of an http(s) record is the HTTP response as received; other schemes (dns:,
ftp:, ...) hold a bare document. Nothing in fastwarc or resiliparse reads ARC, hence this
module; the length checks and recovery are the WARC ones (``inputs.framing``). The URL is taken
as everything before the fixed trailing fields, so a URL with a space in it (old crawlers wrote
some) is still read whole.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

from inputs.byte_stream import ByteStream
from inputs.framing import Grammar, Record, iter_framed

# A header line: anything (the URL), then IP, 12-14 digit date, content type, up to five more
# fields (version 2) and the length. Lazy so a URL with spaces is still one field.
_LINE = rb"[^\r\n]*? \S+ \d{12,14} \S+(?: \S+){0,5} \d+\r?\n"
_V1_TAIL = 4  # fields after the URL in version 1
_V2_TAIL = 9


def _parse_head(head: bytes) -> tuple[list[str], int | None]:
    parts = head.decode("utf-8", "replace").split()
    if len(parts) < _V1_TAIL + 1 or not parts[-1].isdigit():
        return parts, None
    return parts, int(parts[-1])


GRAMMAR = Grammar(
    start=re.compile(_LINE),
    find=re.compile(rb"(?<=\n)" + _LINE),  # a header line starts a line
    head_end=re.compile(rb"\n"),
    parse_head=_parse_head,
)


def _version(block: bytes) -> int:
    """1 or 2 from the version block's first line (``1 0 Alexa Internet``); 1 when unreadable."""
    first = block.split(b"\n", 1)[0].split()
    return 2 if first[:1] == [b"2"] else 1


def iter_arc_records(stream: ByteStream, max_bytes: int, counts: Counter[str]) -> Iterator[Record]:
    """The records of an ARC stream (see ``inputs.framing.iter_framed`` for what is counted)."""
    tail = _V1_TAIL
    for parts, block in iter_framed(stream, GRAMMAR, max_bytes, counts):
        if parts[0].startswith("filedesc://"):
            tail = _V2_TAIL if _version(block) == 2 and len(parts) > _V2_TAIL else _V1_TAIL
            yield Record("filedesc", parts[0], parts[3], {}, block)
            continue
        n = tail if len(parts) > tail else _V1_TAIL  # a short line in a version-2 file: version 1
        url = " ".join(parts[:-n])
        arc_type = parts[-n + 2]
        headers = {"arc-ip-address": parts[-n], "arc-date": parts[-n + 1], "arc-content-type": arc_type}
        if url.lower().startswith(("http:", "https:")):
            yield Record("response", url, "application/http; msgtype=response", headers, block)
        else:
            yield Record("resource", url, arc_type, headers, block)
