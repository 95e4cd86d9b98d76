"""Pages ``{"url", "text", "source"}`` from crawl files (WARC, WET, ARC), JSON lines, parquet and
hub datasets, every record that is not a page counted under one reason.

Archive records go: framing (``inputs.warc`` / ``inputs.arc``: wrong lengths, cut files) ->
record type -> HTTP status and encodings (``inputs.http_body``) -> charset
(``inputs.charset``) -> HTML to text keeping math as LaTeX (``inputs.html_text``). WET
``conversion`` records are text already. Not in the paper, which started from Common Crawl
HTML with its own (unpublished) extraction.

Record outcomes (each record read gets exactly one, so ``records == pages + sum(outcomes)``):
``type_<t>`` (warcinfo, request, metadata, revisit, continuation, filedesc, unknown: never
pages), ``status_2xx`` (a 200 only is a page) / ``status_3xx`` / ``status_4xx`` /
``status_5xx`` / ``status_other``, ``not_http`` (a response record without HTTP, e.g. dns:),
``bad_http`` (no status line), ``not_html`` / ``resource_not_html``, ``huge`` (over
``max_bytes``, stored or decoded), ``bad_content_encoding``, ``content_encoding_unsupported``,
``bad_encoding``, ``empty`` (text under ``min_chars``), ``missing_url_or_text``, and from the
framing ``bad_record``, ``bad_digest`` and ``truncated_record``; rows of tables: ``bad_json``,
``not_object``.
Counts that annotate rather than decide are listed in ``NOTES``.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from data_selection.config import IngestConfig
from inputs.arc import iter_arc_records
from inputs.byte_stream import ByteStream
from inputs.charset import decode_document
from inputs.framing import Record
from inputs.html_text import html_to_text
from inputs.http_body import charset_param, decoded_body, parse_response
from inputs.hub import is_hub_spec, iter_hub_rows
from inputs.jsonl import parse_record, write_jsonl_atomic
from inputs.sources import detect_format, source_name
from inputs.warc import iter_warc_records

NOTES = frozenset({
    "records", "pages", "math_elements",
    "truncated_archive",  # the file ends inside a record or a gzip member (once per file)
    "bad_gzip_member", "skipped_garbage",  # bytes skipped to reach the next member / record
    "charset_overruled", "unknown_charset", "decoded_with_replacements",  # inputs.charset
    "content_encoding_mislabeled", "transfer_encoding_mislabeled", "body_cut",  # inputs.http_body
    "html_sniffed",  # no usable Content-Type; the body starts like HTML
    "warc_truncated",  # the crawler cut the payload at its size limit (WARC-Truncated); still read
})
_NOT_PAGES = frozenset({"warcinfo", "request", "metadata", "revisit", "continuation", "filedesc"})
_UNTYPED = ("", "application/octet-stream", "unknown", "no-type", "unk")
_HTML_STARTS = (b"<!doctype html", b"<html")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _is_html(content_type: str, body: bytes, counts: Counter[str]) -> bool:
    mime = content_type.split(";")[0].strip().lower()
    if "html" in mime:
        return True
    if mime in _UNTYPED and body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS):
        counts["html_sniffed"] += 1
        return True
    return False


def _http_payload(record: Record, cfg: IngestConfig, counts: Counter[str]) -> tuple[str, bytes, str | None] | None:
    """(content type, decoded body, charset) of a 200 response; None (counted) otherwise."""
    if "application/http" not in record.content_type.lower() and not record.block.startswith(b"HTTP/"):
        counts["not_http"] += 1
        return None
    response = parse_response(record.block)
    if response is None:
        counts["bad_http"] += 1
        return None
    if response.status != 200:
        counts[f"status_{response.status // 100}xx" if 100 <= response.status < 600 else "status_other"] += 1
        return None
    body = decoded_body(response, cfg.max_bytes, counts)
    if body is None:
        return None
    return response.headers.get("content-type", ""), body, response.charset()


def record_text(record: Record, cfg: IngestConfig, counts: Counter[str]) -> str | None:
    """The text of a page record; None (the outcome counted) for every other record."""
    if record.kind == "conversion":  # WET: extracted text already
        text = decode_document(record.block, charset_param(record.content_type) or "utf-8", counts)
        return None if text is None else text.strip()
    if record.kind == "response":
        payload = _http_payload(record, cfg, counts)
        if payload is None:
            return None
        content_type, body, charset = payload
    elif record.kind == "resource":
        content_type, body, charset = record.content_type, record.block, charset_param(record.content_type)
    else:
        counts[f"type_{record.kind if record.kind in _NOT_PAGES else 'unknown'}"] += 1
        return None
    if not _is_html(content_type, body, counts):
        counts["not_html" if record.kind == "response" else "resource_not_html"] += 1
        return None
    html = decode_document(body, charset, counts)
    if html is None:
        return None
    text, n_math = html_to_text(html, cfg.keep_math_markup)
    counts["math_elements"] += n_math
    return text.replace("\ufeff", "").strip()  # byte-order marks of included files, mid-page


def _page(url: object, text: object, cfg: IngestConfig, source: str, counts: Counter[str]) -> dict | None:
    if not isinstance(url, str) or not url or not isinstance(text, str):
        counts["missing_url_or_text"] += 1
        return None
    if len(text) < cfg.min_chars:
        counts["empty"] += 1
        return None
    counts["pages"] += 1
    return {"url": url, "text": text, "source": source}


def iter_archive(path: str | Path, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    """Pages of a WARC, WET or ARC file, gzipped or not (the framing is chosen by the first
    bytes, the name only where they say nothing)."""
    source = Path(path).name
    with open(path, "rb") as fh:
        stream = ByteStream(fh, counts)
        first = stream.peek(64).lstrip(b"\r\n")
        if first.startswith(_ZSTD_MAGIC):
            raise ValueError(f"{path}: zstd-compressed archive, not supported (recompress it with gzip)")
        is_arc = first.startswith(b"filedesc://") or (not first.startswith(b"WARC/") and detect_format(path) == "arc")
        records = (iter_arc_records(stream, cfg.max_bytes, counts) if is_arc else
                   iter_warc_records(stream, cfg.max_bytes, counts, cfg.verify_digests))
        for record in records:
            if "warc-truncated" in record.headers:
                counts["warc_truncated"] += 1
            text = record_text(record, cfg, counts)
            if text is not None:
                page = _page(record.url, text, cfg, source, counts)
                if page is not None:
                    yield page
        if stream.truncated:
            counts["truncated_archive"] += 1


def _jsonl_rows(path: str | Path, counts: Counter[str]) -> Iterator[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:  # bytes: a line that is not UTF-8 counts as bad_json
        for line in fh:
            if line.strip():
                counts["records"] += 1
                row = parse_record(line, counts)
                if row is not None:
                    yield row


def _parquet_rows(path: str | Path, counts: Counter[str]) -> Iterator[dict]:
    import pyarrow.parquet as pq  # lazy: only parquet inputs need it

    table = pq.ParquetFile(path)
    missing = {"url", "text"} - set(table.schema_arrow.names)
    if missing:
        raise ValueError(f"{path}: parquet file lacks column(s) {sorted(missing)}")
    for batch in table.iter_batches(columns=["url", "text"]):
        for row in batch.to_pylist():
            counts["records"] += 1
            yield row


def _hub_rows(spec: str, counts: Counter[str]) -> Iterator[dict]:
    for row in iter_hub_rows(spec):
        counts["records"] += 1
        yield row


def _table_pages(rows: Iterable[dict], source: str, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    for row in rows:
        text = row.get("text")
        if isinstance(text, str) and len(text.encode("utf-8")) > cfg.max_bytes:
            counts["huge"] += 1
            continue
        page = _page(row.get("url"), text, cfg, source, counts)
        if page is not None:
            yield page


def iter_pages(source: str | Path, cfg: IngestConfig, counts: Counter[str]) -> Iterator[dict]:
    """Pages of a file (format by ``inputs.sources.detect_format``) or a hub spec."""
    name = source_name(str(source))
    if is_hub_spec(str(source)):
        return _table_pages(_hub_rows(str(source), counts), name, cfg, counts)
    fmt = detect_format(source)
    if fmt in ("warc", "wet", "arc"):
        return iter_archive(source, cfg, counts)
    rows = _parquet_rows(source, counts) if fmt == "parquet" else _jsonl_rows(source, counts)
    return _table_pages(rows, name, cfg, counts)


def ingest_file(source: str, part_path: str, cfg: IngestConfig) -> Counter[str]:
    """Shard function: the pages of one input written to ``part_path`` (JSONL); the counts."""
    counts: Counter[str] = Counter()
    write_jsonl_atomic(part_path, iter_pages(source, cfg, counts))
    return counts
