"""Readers for real crawl files: WARC (HTML responses), WET (extracted text), JSONL and parquet.

Each yields pages ``{"url", "text", "source"}`` and counts every record it skips under a reason
(the stage's metrics report them): ``huge`` (record over ``max_bytes``, never read), ``not_html``
(a response that is not HTML), ``bad_encoding`` (mostly undecodable bytes), ``empty`` (text
under ``min_chars`` after extraction), ``missing_url_or_text``, ``truncated_archive`` (the
archive ended or broke mid-record: records read before it are kept, the rest of that file is
lost) and ``bad_json``/``not_object``. WARC/WET parsing is fastwarc's; HTML goes through
``html_text.html_to_text`` so math survives. Not in the paper, which started from Common Crawl
HTML with its own (unpublished) extraction.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.parse.encoding import detect_encoding

from data_selection.config import IngestConfig
from data_selection.html_text import html_to_text
from data_selection.jsonl import read_jsonl, write_jsonl_atomic

_REPLACEMENT_LIMIT = 0.1  # share of U+FFFD above which a page counts as undecodable


def detect_format(path: str | Path) -> str:
    """"warc", "wet", "jsonl" or "parquet" from the file name."""
    name = Path(path).name.lower()
    if ".wet" in name:
        return "wet"
    if ".warc" in name or name.endswith(".arc.gz"):
        return "warc"
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"{path}: unknown input format (expected .warc[.gz], .wet[.gz], .jsonl or .parquet)")


def _decode(body: bytes, declared: str | None, counts: Counter[str]) -> str | None:
    """Strict decode with the declared charset, then the detected one; else count the damage.

    (resiliparse's ``bytes_to_str`` silently drops undecodable bytes, which would hide them.)
    """
    for encoding in (declared, detect_encoding(body)):
        if encoding:
            try:
                return body.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    text = body.decode("utf-8", errors="replace")
    if text.count("\ufffd") > _REPLACEMENT_LIMIT * len(text):
        counts["bad_encoding"] += 1
        return None
    return text


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None


def _record_text(record, fmt: str, cfg: IngestConfig, counts: Counter[str]) -> str | None:
    if fmt == "wet":
        return _decode(record.reader.read(), "utf-8", counts)
    content_type = record.http_headers.get("Content-Type", "") if record.http_headers else ""
    if "html" not in content_type.lower():
        counts["not_html"] += 1
        return None
    html = _decode(record.reader.read(), _charset(content_type), counts)
    if html is None:
        return None
    text, n_math = html_to_text(html, cfg.keep_math_markup)
    counts["math_elements"] += n_math
    return text


def iter_warc(path: str | Path, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    """Pages of a WARC (HTML responses) or WET (conversion records) file."""
    fmt = detect_format(path)
    wanted = WarcRecordType.conversion if fmt == "wet" else WarcRecordType.response
    try:
        for record in ArchiveIterator(open(path, "rb"), record_types=wanted, parse_http=fmt == "warc"):
            counts["records"] += 1
            url = record.headers.get("WARC-Target-URI")
            if record.content_length > cfg.max_bytes:
                counts["huge"] += 1
                continue
            if not url:
                counts["missing_url_or_text"] += 1
                continue
            text = _record_text(record, fmt, cfg, counts)
            if text is None:
                continue
            if len(text) < cfg.min_chars:
                counts["empty"] += 1
                continue
            yield {"url": url, "text": text, "source": Path(path).name}
    except (OSError, EOFError, ValueError):
        counts["truncated_archive"] += 1  # fastwarc raises on some broken headers
        return
    if not _gzip_complete(path):
        counts["truncated_archive"] += 1


def _gzip_complete(path: str | Path) -> bool:
    """False when a .gz file ends mid-stream. fastwarc stops quietly at a cut gzip member, so
    truncation is checked with a second (decompress-only) pass; uncompressed files pass."""
    if not str(path).endswith(".gz"):
        return True
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error):
        return False
    return True


def _iter_table(path: str | Path, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    if detect_format(path) == "parquet":
        import pyarrow.parquet as pq

        rows: Iterator[dict] = (row for batch in pq.ParquetFile(path).iter_batches(columns=["url", "text"])
                                for row in batch.to_pylist())
    else:
        rows = read_jsonl(path, counts)
    for row in rows:
        counts["records"] += 1
        url, text = row.get("url"), row.get("text")
        if not isinstance(url, str) or not isinstance(text, str):
            counts["missing_url_or_text"] += 1
        elif len(text.encode("utf-8")) > cfg.max_bytes:
            counts["huge"] += 1
        elif len(text) < cfg.min_chars:
            counts["empty"] += 1
        else:
            yield {"url": url, "text": text, "source": Path(path).name}


def iter_pages(path: str | Path, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    """Pages of any supported file, format from its name."""
    if detect_format(path) in ("warc", "wet"):
        return iter_warc(path, cfg, counts)
    return _iter_table(path, cfg, counts)


def ingest_file(path: str, part_path: str, cfg: IngestConfig) -> Counter[str]:
    """Shard function: pages of one input file written to ``part_path`` (JSONL); skip counts."""
    counts: Counter[str] = Counter()
    n = write_jsonl_atomic(part_path, iter_pages(path, cfg, counts))
    counts["pages"] += n
    return counts
