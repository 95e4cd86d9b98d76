"""HTTP bodies as crawlers store them (content and transfer encodings, right or mislabelled) and
charsets (declared wrongly, as a subset, in a meta tag only, or not at all), end to end through
a hand-written WARC file and on the functions directly."""

from __future__ import annotations

import gzip
import io
import zlib
from collections import Counter
from pathlib import Path

import brotli
import pytest
from fastwarc.warc import ArchiveIterator

from inputs.charset import decode_document
from inputs.http_body import dechunk, decoded_body, parse_response
from tests.inputs.test_crawl_archive import http, read, urls, warc_record, write

PAGE = ("<html><body><p>" + "Solve x^2 - 5x + 6 = 0 by factoring: (x-2)(x-3) = 0. " * 5 + "</p></body></html>").encode()


def chunked(body: bytes, size: int = 40, eol: bytes = b"\r\n") -> bytes:
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    framed = b"".join(f"{len(c):x};ext=1".encode() + eol + c + eol for c in chunks)
    return framed + b"0" + eol + b"X-Trailer: 1" + eol + eol


def test_content_encodings_are_undone_and_mislabels_counted(tmp_path: Path) -> None:
    raw_deflate = zlib.compress(PAGE)[2:-4]
    cases = {
        "gzip": (gzip.compress(PAGE), "gzip"),
        "x-gzip": (gzip.compress(PAGE), "x-gzip"),
        "zlib": (zlib.compress(PAGE), "deflate"),
        "raw": (raw_deflate, "deflate"),
        "gzip-as-deflate": (gzip.compress(PAGE), "deflate"),
        "br": (brotli.compress(PAGE), "br"),
        "twice": (gzip.compress(gzip.compress(PAGE)), "gzip, gzip"),
        "plain-labelled-gzip": (PAGE, "gzip"),
        "charset-in-wrong-header": (PAGE, "utf-8"),
    }
    def record(name: str, body: bytes, coding: str) -> bytes:
        return warc_record(http(body, ("Content-Type: text/html", f"Content-Encoding: {coding}")), f"https://e.org/{name}")

    records = [record(name, body, coding) for name, (body, coding) in cases.items()]
    records.append(record("bad", gzip.compress(PAGE)[:12] + b"\xff" * 40 + gzip.compress(PAGE)[52:], "gzip"))
    records.append(record("zstd", b"\x28\xb5\x2f\xfd" + bytes(range(40)), "zstd"))
    pages, counts = read(write(tmp_path / "ce.warc.gz", records, gz=True))
    assert urls(pages) == [f"https://e.org/{name}" for name in cases]
    assert all(p["text"].startswith("Solve x^2 - 5x + 6 = 0") for p in pages)
    assert counts["content_encoding_mislabeled"] == 2 and counts["bad_content_encoding"] == 1
    assert counts["content_encoding_unsupported"] == 1


def test_fastwarc_auto_decode_ends_the_file_on_a_mislabelled_body() -> None:
    """Why bodies are decoded here: fastwarc raises on a gzip label over a plain body, and the
    iteration (every later record of the file) ends with it."""
    data = warc_record(http(PAGE, ("Content-Type: text/html", "Content-Encoding: gzip")), "https://e.org/1")
    data += warc_record(http(PAGE), "https://e.org/2")
    with pytest.raises(OSError):
        list(ArchiveIterator(io.BytesIO(data), auto_decode="all"))


def test_decompression_stops_at_max_bytes_and_a_cut_stream_keeps_its_start() -> None:
    bomb = parse_response(http(gzip.compress(b"<p>" + b"a" * 10**6), ("Content-Encoding: gzip",)))
    counts: Counter[str] = Counter()
    assert decoded_body(bomb, 10_000, counts) is None and counts["huge"] == 1
    cut = parse_response(http(zlib.compress(PAGE)[:-30], ("Content-Encoding: deflate",)))
    counts = Counter()
    body = decoded_body(cut, 10_000, counts)
    assert body and PAGE.startswith(body) and len(body) < len(PAGE) and counts["body_cut"] == 1


def test_chunked_bodies_are_dechunked_or_used_as_stored(tmp_path: Path) -> None:
    assert dechunk(chunked(PAGE)) == (PAGE, "ok")
    assert dechunk(chunked(PAGE, eol=b"\n")) == (PAGE, "ok")
    assert dechunk(PAGE) == (PAGE, "not_chunked")
    assert dechunk(chunked(PAGE)[:100]) == (PAGE[:78], "cut")  # 52 framed bytes a chunk: 40 + 38 of data
    te = ("Content-Type: text/html", "Transfer-Encoding: chunked")
    records = [
        warc_record(http(chunked(PAGE), te), "https://e.org/chunked"),
        warc_record(http(PAGE, te), "https://e.org/stored-dechunked"),
        warc_record(http(chunked(gzip.compress(PAGE), 64), (*te, "Content-Encoding: gzip")), "https://e.org/both"),
    ]
    pages, counts = read(write(tmp_path / "te.warc", records, gz=False))
    assert urls(pages) == ["https://e.org/chunked", "https://e.org/stored-dechunked", "https://e.org/both"]
    assert all(p["text"].startswith("Solve x^2") and "ext=1" not in p["text"] for p in pages)
    assert counts["transfer_encoding_mislabeled"] == 1


ZH = "二次方程的求根公式适用于所有一元二次方程。熔融的钢水从高炉流出，镕化的金属。" * 4  # 镕: in GBK, not in GB2312
JA_PLAIN = "二次方程式の解の公式を用いると、すべての二次方程式を解くことができます。" * 4
JA = JA_PLAIN + "①②③"  # ①: NEC row 13, outside plain EUC-JP


def doc(text: str, encoding: str, meta: str = "") -> bytes:
    return f"<html><head>{meta}</head><body><p>{text}</p></body></html>".encode(encoding)


def decode(body: bytes, declared: str | None) -> tuple[str | None, Counter[str]]:
    counts: Counter[str] = Counter()
    return decode_document(body, declared, counts), counts


def test_subset_and_wrong_charsets_still_decode_to_the_right_text() -> None:
    cases = [
        (doc(ZH, "gbk"), "gb2312", ZH),  # GB2312 declared, GBK bytes
        (doc(JA, "euc_jis_2004"), "EUC-JP", JA),  # EUC-JP with NEC special characters
        (doc(JA_PLAIN, "euc_jp"), None, JA_PLAIN),  # nothing declared
        (doc(JA, "cp932", '<meta charset="Shift_JIS">'), None, JA),  # only a meta tag
        (doc(ZH, "gb18030", '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'), None, ZH),
        (doc(ZH, "utf-8"), "iso-8859-1", ZH),  # labelled latin-1, really UTF-8
        (doc(ZH, "gbk"), "iso-8859-1", ZH),  # labelled latin-1, really GBK: detection overrules
        (doc("Café crème brûlée, naïve “quotes”", "cp1252"), "latin1", "Café crème brûlée, naïve “quotes”"),
        ("\ufeff".encode() + doc(ZH, "utf-8"), "gbk", ZH),  # a byte-order mark beats any label
    ]
    for body, declared, text in cases:
        decoded, counts = decode(body, declared)
        assert decoded is not None and text in decoded, (declared, decoded and decoded[:80])
        assert "\ufffd" not in decoded and counts["bad_encoding"] == 0


def test_undecodable_bytes_are_shown_or_the_document_dropped() -> None:
    few = doc(ZH, "utf-8")[:-40] + b"\xff\xfe" + doc(ZH, "utf-8")[-40:]
    text, counts = decode(few, "utf-8")
    assert text is not None and text.count("\ufffd") >= 1 and counts["decoded_with_replacements"] == 1
    hopeless = b"<html><body><p>" + bytes(range(0x80, 0x100)) * 4 + b"</p></body></html>"
    text, counts = decode(hopeless, "utf-8")
    assert text is None and counts["bad_encoding"] == 1


def test_charsets_end_to_end(tmp_path: Path) -> None:
    records = [
        warc_record(http(doc(ZH, "gbk"), ("Content-Type: text/html; charset=GB2312",)), "https://e.org/gbk"),
        warc_record(http(doc(JA, "euc_jis_2004"), ("Content-Type: text/html",)), "https://e.org/eucjp"),
        warc_record(http(b"<html><body><p>" + bytes(range(0x80, 0x100)) * 4 + b"</p></body></html>"),
                    "https://e.org/junk"),
    ]
    pages, counts = read(write(tmp_path / "cs.warc.gz", records, gz=True))
    assert urls(pages) == ["https://e.org/gbk", "https://e.org/eucjp"]
    assert ZH in pages[0]["text"] and JA in pages[1]["text"] and counts["bad_encoding"] == 1
