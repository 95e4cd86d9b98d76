"""Crawl readers and math-keeping HTML extraction, on HTML fixtures and the real CC samples."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from data_selection.config import IngestConfig
from data_selection.html_text import html_to_text
from data_selection.readers import detect_format, iter_pages
from pipeline.ingest import main as ingest_main

WEB = Path(__file__).resolve().parents[3] / "shared" / "data" / "web"
CFG = IngestConfig(min_chars=20, max_bytes=5_000_000, keep_math_markup=True)
MATH_HTML = """<html><head><script>var junk = 1;</script></head><body><h1>Quadratics</h1>
<p>MathJax <script type="math/tex">x^2+1=0</script> and <script type="math/tex; mode=display">\\int_0^1 x\\,dx</script></p>
<p>KaTeX <span class="katex"><span class="katex-mathml"><math><semantics><mi>a</mi>
<annotation encoding="application/x-tex">\\frac{a}{b}</annotation></semantics></math></span>
<span class="katex-html">a b glyphs</span></span> done.</p>
<p>MathML <math><mfrac><mn>1</mn><mi>n</mi></mfrac><mo>+</mo><msup><mi>x</mi><mn>2</mn></msup></math>
and <math alttext="\\sqrt{2}"><msqrt><mn>2</mn></msqrt></math></p>
<p>Inline $e^{i\\pi}+1=0$ stays.</p></body></html>"""


def needs_samples() -> None:
    if not (WEB / "whirlwind.warc.gz").is_file():
        pytest.skip(f"real Common Crawl samples absent: {WEB} (see shared/data/web/README.md)")


def test_math_markup_becomes_latex() -> None:
    text, n_math = html_to_text(MATH_HTML)
    assert n_math == 5
    for latex in ("$x^2+1=0$", "$$\\int_0^1 x\\,dx$$", "$\\frac{a}{b}$", "$\\frac{1}{n} + {x}^{2}$",
                  "$\\sqrt{2}$", "$e^{i\\pi}+1=0$"):
        assert latex in text
    assert "junk" not in text and "glyphs" not in text
    plain, n = html_to_text(MATH_HTML, keep_math=False)
    assert n == 0 and "x^2+1=0" not in plain


def test_detect_format() -> None:
    assert [detect_format(n) for n in ("a.warc.gz", "a.warc.wet.gz", "b.jsonl", "c.parquet")] == \
        ["warc", "wet", "jsonl", "parquet"]
    with pytest.raises(ValueError, match="unknown input format"):
        detect_format("x.txt")


def test_real_warc_and_wet() -> None:
    needs_samples()
    for name in ("whirlwind.warc.gz", "whirlwind.warc.wet.gz"):
        counts: Counter[str] = Counter()
        pages = list(iter_pages(WEB / name, CFG, counts))
        assert [p["url"] for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"]
        assert "Escopete" in pages[0]["text"] and counts["truncated_archive"] == 0
    counts = Counter()
    pages = list(iter_pages(WEB / "CC-MAIN-2020-34-sample.resiliparse.warc.gz", CFG, counts))
    assert len(pages) + counts["empty"] + counts["not_html"] + counts["bad_encoding"] == counts["records"] == 16
    assert all(p["url"].startswith("http") and p["text"] for p in pages)


def test_truncated_archive_keeps_records_before_the_cut(tmp_path: Path) -> None:
    needs_samples()
    data = (WEB / "CC-MAIN-2020-34-sample.resiliparse.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    counts: Counter[str] = Counter()
    pages = list(iter_pages(cut, CFG, counts))
    assert 0 < len(pages) < 16 and counts["truncated_archive"] == 1


def test_jsonl_and_parquet_bad_records_are_counted(tmp_path: Path) -> None:
    rows = [{"url": "https://a/1", "text": "x" * 30}, {"url": "https://a/2", "text": "short"},
            {"url": "https://a/3"}, {"url": "https://a/4", "text": "y" * 60}]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    counts: Counter[str] = Counter()
    pages = list(iter_pages(path, IngestConfig(min_chars=20, max_bytes=50, keep_math_markup=True), counts))
    assert [p["url"] for p in pages] == ["https://a/1"]
    assert counts == Counter({"records": 4, "empty": 1, "missing_url_or_text": 1, "huge": 1, "bad_json": 1})
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([r for r in rows if "text" in r]), tmp_path / "p.parquet")
    counts = Counter()
    assert [p["url"] for p in iter_pages(tmp_path / "p.parquet", CFG, counts)] == ["https://a/1", "https://a/4"]
    assert counts["empty"] == 1


def test_bad_encoding_is_skipped(tmp_path: Path) -> None:
    from fastwarc.warc import WarcRecordType  # noqa: F401  (fastwarc parses what we write by hand)

    good = b"<html><body><p>" + b"hello world " * 10 + b"</p></body></html>"
    bad = b"<html><body><p>" + bytes(range(0x80, 0x100)) * 4 + b"</p></body></html>"
    records = b""
    for i, body in enumerate([good, bad]):
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
        records += (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://e.org/{i}\r\n"
                    f"WARC-Record-ID: <urn:uuid:{i}>\r\nContent-Type: application/http; msgtype=response\r\n"
                    f"Content-Length: {len(http)}\r\n\r\n").encode() + http + b"\r\n\r\n"
    path = tmp_path / "t.warc.gz"
    path.write_bytes(gzip.compress(records))
    counts: Counter[str] = Counter()
    pages = list(iter_pages(path, CFG, counts))
    assert [p["url"] for p in pages] == ["https://e.org/0"]
    assert counts["bad_encoding"] == 1 and counts["truncated_archive"] == 0


def test_ingest_stage_on_real_samples(tmp_path: Path) -> None:
    needs_samples()
    root = Path(__file__).resolve().parents[2]
    out, metrics = tmp_path / "pages.jsonl", tmp_path / "ingest.json"
    ingest_main(["--params", str(root / "params.yaml"), "--input", str(WEB / "whirlwind.warc.gz"),
                 "--input", str(WEB / "whirlwind.warc.wet.gz"),
                 "--input", str(WEB / "CC-MAIN-2020-34-sample.resiliparse.warc.gz"),
                 "--out", str(out), "--metrics", str(metrics)])
    pages = [json.loads(line) for line in out.read_text().splitlines()]
    stats = json.loads(metrics.read_text())
    assert stats["files"] == 3 and stats["pages"] == len(pages) >= 2
    assert pages[0]["source"] == "whirlwind.warc.gz" and all(set(p) == {"url", "text", "source"} for p in pages)
