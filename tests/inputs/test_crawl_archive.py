"""Archive framing on hand-written files: WARC versions and line endings, ARC, wrong lengths, cut
and corrupt gzip, record types and HTTP status classes. Every test checks that each record read
got exactly one outcome (``accounted``)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
from collections import Counter
from pathlib import Path

from data_selection.config import IngestConfig
from inputs.crawl import NOTES, iter_pages

CFG = IngestConfig(min_chars=10, max_bytes=100_000, keep_math_markup=True)


def html(i: int | str, pad: int = 0) -> bytes:
    text = f"Page {i}: the quadratic formula solves ax^2+bx+c=0." + " It has two roots." * pad
    return f"<html><body><p>{text}</p></body></html>".encode()


def http(body: bytes, headers: tuple[str, ...] = ("Content-Type: text/html; charset=utf-8",),
         status: str = "200 OK", eol: bytes = b"\r\n") -> bytes:
    head = [f"HTTP/1.1 {status}", *headers]
    return eol.join(h.encode() for h in head) + eol + eol + body


def warc_record(block: bytes, url: str = "https://e.org/", kind: str = "response", version: str = "1.0",
                content_type: str = "application/http; msgtype=response", length: int | None = None,
                eol: bytes = b"\r\n", names: tuple[str, str, str, str] = ("WARC-Type", "WARC-Target-URI",
                                                                          "Content-Type", "Content-Length"),
                extra: tuple[str, ...] = ()) -> bytes:
    """One WARC record as a crawler writes it; ``length`` overrides the true Content-Length."""
    fields = [f"WARC/{version}", f"{names[0]}: {kind}", f"{names[1]}: {url}", "WARC-Record-ID: <urn:uuid:1>",
              f"{names[2]}: {content_type}", f"{names[3]}: {len(block) if length is None else length}", *extra]
    return eol.join(f.encode() for f in fields) + eol + eol + block + eol + eol


def write(path: Path, records: list[bytes], gz: bool) -> Path:
    path.write_bytes(b"".join(gzip.compress(r) for r in records) if gz else b"".join(records))
    return path


def accounted(counts: Counter[str]) -> bool:
    return counts["records"] == counts["pages"] + sum(v for k, v in counts.items() if k not in NOTES)


def read(path: Path, cfg: IngestConfig = CFG) -> tuple[list[dict], Counter[str]]:
    counts: Counter[str] = Counter()
    pages = list(iter_pages(path, cfg, counts))
    assert accounted(counts), counts
    return pages, counts


def urls(pages: list[dict]) -> list[str]:
    return [p["url"] for p in pages]


def test_old_versions_field_spellings_and_lf_only_lines(tmp_path: Path) -> None:
    records = [
        warc_record(http(html(0)), "https://e.org/0", version="0.17"),
        warc_record(http(html(1)), "<https://e.org/1>", version="0.18",
                    names=("Warc-Type", "WARC-Target-Uri", "content-type", "Content-length")),
        warc_record(http(html(2), eol=b"\n"), "https://e.org/2"),  # HTTP header in LF only
        warc_record(http(html(3), eol=b"\n"), "https://e.org/3", eol=b"\n"),  # WARC header too
        warc_record(http(html(4)), "https://e.org/4", version="1.1"),
    ]
    for gz in (False, True):
        pages, counts = read(write(tmp_path / f"v.warc{'.gz' if gz else ''}", records, gz))
        assert urls(pages) == [f"https://e.org/{i}" for i in range(5)]
        assert all(p["text"].startswith(f"Page {i}:") for i, p in enumerate(pages))
        assert counts["records"] == 5 and counts["truncated_archive"] == 0


def test_wrong_content_length_is_counted_and_never_leaks_header_text(tmp_path: Path) -> None:
    good = [warc_record(http(html(i)), f"https://e.org/{i}") for i in range(4)]
    bad_block = http(html("bad"))
    for name, length in (("long", len(bad_block) + 60), ("short", len(bad_block) - 25), ("far", 10**5 - 1)):
        records = [good[0], warc_record(bad_block, "https://e.org/bad", length=length), good[2], good[3]]
        for gz in (False, True):
            pages, counts = read(write(tmp_path / f"{name}.warc{'.gz' if gz else ''}", records, gz))
            # The damaged record is dropped; the ones after it are found again, even the one
            # whose header a too-long length swallowed.
            assert urls(pages) == ["https://e.org/0", "https://e.org/2", "https://e.org/3"], (name, gz)
            assert counts["bad_record"] == 1 and counts["records"] == 4, (name, gz, counts)
            assert not any("WARC" in p["text"] or "HTTP/1.1" in p["text"] for p in pages)


def sha1_base32(block: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode()


def test_block_digest_catches_a_wrong_length_that_lands_on_a_record_boundary(tmp_path: Path) -> None:
    b, c = (warc_record(http(html(i)), f"https://e.org/{i}") for i in ("b", "c"))
    a_block = http(html("a"))
    for digest in (sha1_base32(a_block), f"sha1:{hashlib.sha1(a_block).hexdigest()}"):  # base32 or hex
        # a's length swallows record b whole, so the next bytes after it start record c
        a = warc_record(a_block, "https://e.org/a", length=len(a_block) + 4 + len(b),
                        extra=(f"WARC-Block-Digest: {digest}",))
        pages, counts = read(write(tmp_path / "d.warc", [a, b, c], gz=False))
        assert urls(pages) == ["https://e.org/b", "https://e.org/c"] and counts["bad_digest"] == 1, digest
    good = warc_record(a_block, "https://e.org/a", extra=(f"WARC-Block-Digest: {sha1_base32(a_block)}",))
    hex_digest = f"WARC-Block-Digest: SHA-1:{hashlib.sha1(a_block).hexdigest()}"
    hexed = warc_record(a_block, "https://e.org/h", extra=(hex_digest,))
    wrong = warc_record(a_block, "https://e.org/w", extra=(f"WARC-Block-Digest: {sha1_base32(b'other')}",))
    pages, counts = read(write(tmp_path / "e.warc.gz", [good, hexed, wrong, c], gz=True))
    assert urls(pages) == ["https://e.org/a", "https://e.org/h", "https://e.org/c"] and counts["bad_digest"] == 1
    pages, counts = read(tmp_path / "e.warc.gz", IngestConfig(10, 100_000, True, verify_digests=False))
    assert urls(pages) == ["https://e.org/a", "https://e.org/h", "https://e.org/w", "https://e.org/c"]


def test_fastwarc_leaks_header_text_and_hides_a_cut() -> None:
    """Why the framing is our own: fastwarc (quirks mode) hands back the neighbour's header as
    content of a too-long record, and returns a record cut by the end of a gzip file as whole."""
    from fastwarc.warc import ArchiveIterator

    block = http(html(1))
    data = warc_record(block, "https://e.org/1", length=len(block) + 60) + warc_record(http(html(2)), "https://e.org/2")
    first = next(iter(ArchiveIterator(io.BytesIO(data), quirks_mode=True)))
    assert b"WARC-Type: response" in first.reader.read()
    cut = gzip.compress(warc_record(block, "https://e.org/1"))[:-40]
    records = [r.reader.read() for r in ArchiveIterator(io.BytesIO(cut), quirks_mode=True)]
    assert len(records) == 1 and len(records[0]) < len(block)


def test_cut_gzip_keeps_records_before_the_cut(tmp_path: Path) -> None:
    records = [warc_record(http(html(i)), f"https://e.org/{i}") for i in range(5)]
    data = b"".join(gzip.compress(r) for r in records)
    for cut in (len(data) - 5, len(data) - 60):  # in the gzip footer; inside the last record
        (tmp_path / "cut.warc.gz").write_bytes(data[:cut])
        pages, counts = read(tmp_path / "cut.warc.gz")
        assert urls(pages) == [f"https://e.org/{i}" for i in range(4 if cut < len(data) - 8 else 5)]
        assert counts["truncated_archive"] == 1


def test_corrupt_gzip_member_mid_file_resyncs_at_the_next_member(tmp_path: Path) -> None:
    members = [gzip.compress(warc_record(http(html(i)), f"https://e.org/{i}")) for i in range(4)]
    cut = members[1][: len(members[1]) // 2]  # a member cut short, then the next one follows
    (tmp_path / "c.warc.gz").write_bytes(members[0] + cut + members[2] + members[3])
    pages, counts = read(tmp_path / "c.warc.gz")
    assert urls(pages) == ["https://e.org/0", "https://e.org/2", "https://e.org/3"]
    assert counts["bad_gzip_member"] >= 1 and counts["truncated_archive"] == 0


def test_record_types_and_status_classes_are_counted(tmp_path: Path) -> None:
    records = [
        warc_record(b"software: test\r\n", kind="warcinfo", content_type="application/warc-fields"),
        warc_record(b"GET / HTTP/1.1\r\nHost: e.org\r\n\r\n", kind="request",
                    content_type="application/http; msgtype=request"),
        warc_record(http(b""), kind="revisit"),
        warc_record(b"fetchTimeMs: 12\r\n", kind="metadata", content_type="application/warc-fields"),
        warc_record(b"\x89PNG\r\n\x1a\n", "https://e.org/a.png", kind="resource", content_type="image/png"),
        warc_record(html("resource"), "https://e.org/r", kind="resource", content_type="text/html"),
        warc_record(http(b"", ("Location: https://e.org/",), status="301 Moved Permanently"), "https://e.org/m"),
        warc_record(http(html(404), status="404 Not Found"), "https://e.org/404"),
        warc_record(http(html(503), status="503 Service Unavailable"), "https://e.org/503"),
        warc_record(http(b"", status="204 No Content"), "https://e.org/204"),
        warc_record(http(b"%PDF-1.4", ("Content-Type: application/pdf",)), "https://e.org/p.pdf"),
        warc_record(b"20240101 e.org. A 93.184.216.34", "dns:e.org", content_type="text/dns"),
        warc_record(b"<html>no status line</html>", "https://e.org/x"),
        warc_record(http(html(200)), "https://e.org/ok"),
        warc_record(http(b"", status="100 Continue") + http(html(200)), "https://e.org/continue"),  # interim first
        warc_record(http(b"", status="100 Continue"), "https://e.org/only-100"),
    ]
    pages, counts = read(write(tmp_path / "t.warc.gz", records, gz=True))
    assert urls(pages) == ["https://e.org/r", "https://e.org/ok", "https://e.org/continue"]
    assert {k: v for k, v in counts.items() if k not in NOTES} == {
        "type_warcinfo": 1, "type_request": 1, "type_revisit": 1, "type_metadata": 1, "resource_not_html": 1,
        "status_3xx": 1, "status_4xx": 1, "status_5xx": 1, "status_2xx": 1, "status_1xx": 1, "not_html": 1,
        "not_http": 1, "bad_http": 1}


def test_huge_record_is_skipped_and_the_next_is_read(tmp_path: Path) -> None:
    big = http(b"<html><body>" + b"x" * 5000 + b"</body></html>")
    records = [warc_record(big, "https://e.org/big"), warc_record(http(html(1)), "https://e.org/1")]
    pages, counts = read(write(tmp_path / "h.warc", records, gz=False), IngestConfig(10, 2000, True))
    assert urls(pages) == ["https://e.org/1"] and counts["huge"] == 1


def arc_file(version: int = 1, pad: int = 0) -> bytes:
    """An ARC file: version block, two HTTP records (one with a space in its URL), one dns:."""
    spec = (b"URL IP-address Archive-date Content-type Archive-length" if version == 1 else
            b"URL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length")
    desc = f"{version} 0 Alexa Internet\n".encode() + spec + b"\n"
    extra = "" if version == 1 else " 200 - - 0 t.arc"
    out = f"filedesc://t.arc 0.0.0.0 19961104142103 text/plain{extra} {len(desc)}\n".encode() + desc + b"\n"
    for url, block in (("http://e.org/a b.html", http(html("a", pad), eol=b"\n")), ("dns:e.org", b"e.org. A 1.2.3.4"),
                       ("http://e.org/c", http(html("c", pad)))):
        extra = "" if version == 1 else " 200 ABCDEF - 0 t.arc"
        ctype = "text/dns" if url.startswith("dns") else "text/html"
        out += f"{url} 1.2.3.4 19961104142103 {ctype}{extra} {len(block)}\n".encode() + block + b"\n"
    return out


def test_arc_v1_and_v2_plain_and_gzipped(tmp_path: Path) -> None:
    for version in (1, 2):
        data = arc_file(version)
        (tmp_path / "t.arc").write_bytes(data)
        (tmp_path / "t.arc.gz").write_bytes(gzip.compress(data))
        for name in ("t.arc", "t.arc.gz"):
            pages, counts = read(tmp_path / name)
            assert urls(pages) == ["http://e.org/a b.html", "http://e.org/c"], (version, name)
            assert pages[0]["text"].startswith("Page a:") and pages[0]["source"] == name
            assert counts["type_filedesc"] == 1 and counts["resource_not_html"] == 1 and counts["records"] == 4


def test_arc_wrong_length_resyncs(tmp_path: Path) -> None:
    data = arc_file(1).replace(b"text/html 1", b"text/html 9", 1)  # first record's length too long
    (tmp_path / "w.arc").write_bytes(data)
    pages, counts = read(tmp_path / "w.arc")
    assert urls(pages) == ["http://e.org/c"] and counts["bad_record"] == 1


def test_random_damage_never_leaks_header_text_and_every_record_is_counted(tmp_path: Path) -> None:
    """Bytes cut out, inserted, a length digit changed, the file cut: whatever the damage, no
    exception, every record read gets one outcome, and no page holds WARC or HTTP header text."""
    blocks = [http(html(f"{i} " + "text " * (i * 7))) for i in range(12)]
    records = [warc_record(b, f"https://e.org/{i}", extra=(f"WARC-Block-Digest: {sha1_base32(b)}",))
               for i, b in enumerate(blocks)]
    rng = random.Random(0)
    for trial in range(60):
        data = bytearray(b"".join(gzip.compress(r) for r in records) if trial % 2 else b"".join(records))
        for _ in range(rng.randint(1, 3)):
            at, roll = rng.randrange(len(data)), rng.random()
            if roll < 0.35:
                del data[at:at + rng.randint(1, 400)]
            elif roll < 0.6:
                data[at:at] = rng.randbytes(rng.randint(1, 40))
            elif roll < 0.8:
                digit = data.find(b"Content-Length: ", at) + 16
                if digit > 16:
                    data[digit:digit + 1] = str(rng.randrange(10)).encode()
            else:
                del data[at:]
        (tmp_path / "f.warc").write_bytes(bytes(data))
        pages, counts = read(tmp_path / "f.warc")  # asserts every record is accounted for
        assert not any(s in p["text"] for p in pages for s in ("WARC/1.0", "WARC-Type", "HTTP/1.1", "Content-Length"))
