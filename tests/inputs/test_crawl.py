"""Crawl readers on the real Common Crawl samples and tables; math-keeping HTML extraction; the
format of a file from its name or its first bytes."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from data_selection.config import IngestConfig
from inputs.byte_stream import ByteStream
from inputs.crawl import NOTES, iter_pages
from inputs.html_text import html_to_text
from inputs.http_body import parse_response
from inputs.sources import detect_format
from inputs.warc import iter_warc_records
from tests.inputs.test_crawl_archive import accounted, arc_file, http, warc_record

WEB = Path(__file__).resolve().parents[3] / "shared" / "data" / "web"
CC_SAMPLE = WEB / "CC-MAIN-2020-34-sample.resiliparse.warc.gz"
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
    if not CC_SAMPLE.is_file() or not (WEB / "whirlwind.warc.gz").is_file():
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


def test_script_and_style_dropped_tex_in_the_body_kept() -> None:
    page = ("<html><head><style>p { color: red }</style><script>track('x')</script></head><body>"
            "<style>.katex { font: 1em }</style><p>Display \\[ \\sum_{k=1}^n k = \\frac{n(n+1)}{2} \\] and inline "
            "\\( a^2 + b^2 = c^2 \\) or $a \\le b$.</p><script type=\"text/javascript\">var s = '$x$';</script>"
            "<noscript>enable js</noscript></body></html>")
    text, _ = html_to_text(page)
    assert "\\[ \\sum_{k=1}^n k = \\frac{n(n+1)}{2} \\]" in text and "\\( a^2 + b^2 = c^2 \\)" in text
    assert "$a \\le b$" in text
    assert not any(junk in text for junk in ("color", "track", "font", "var s", "enable js"))


def test_format_from_name_or_first_bytes(tmp_path: Path) -> None:
    names = ("a.warc.gz", "a.warc.wet.gz", "a.warc.wat.gz", "a.arc.gz", "a.arc", "b.jsonl", "b.jsonl.gz", "c.parquet")
    assert [detect_format(n) for n in names] == ["warc", "wet", "warc", "arc", "arc", "jsonl", "jsonl", "parquet"]
    contents = {"crawl-001.gz": gzip.compress(warc_record(http(b"<p>x</p>"))), "crawl.bin": warc_record(b"x"),
                "old.gz": gzip.compress(arc_file()), "rows.gz": gzip.compress(b'{"url": "u", "text": "t"}\n'),
                "table": b"PAR1\x15\x04"}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    assert [detect_format(tmp_path / n) for n in contents] == ["warc", "warc", "arc", "jsonl", "parquet"]
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ValueError, match="x.txt: unknown input format"):
        detect_format(tmp_path / "x.txt")


def test_arc_named_ambiguously_is_read_as_arc(tmp_path: Path) -> None:
    (tmp_path / "old.gz").write_bytes(gzip.compress(arc_file()))
    counts: Counter[str] = Counter()
    pages = list(iter_pages(tmp_path / "old.gz", CFG, counts))
    assert [p["url"] for p in pages] == ["http://e.org/a b.html", "http://e.org/c"]


def test_real_warc_wet_and_wat() -> None:
    needs_samples()
    for name in ("whirlwind.warc.gz", "whirlwind.warc.wet.gz"):
        counts: Counter[str] = Counter()
        pages = list(iter_pages(WEB / name, CFG, counts))
        assert [p["url"] for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"]
        assert "Escopete" in pages[0]["text"] and counts["truncated_archive"] == 0 and accounted(counts)
    counts = Counter()
    assert list(iter_pages(WEB / "whirlwind.warc.wat.gz", CFG, counts)) == []
    assert counts["type_metadata"] == 1 and counts["type_warcinfo"] == 1
    counts = Counter()
    pages = list(iter_pages(CC_SAMPLE, CFG, counts))
    # 50 records: 1 warcinfo, 17 request, 16 response (all HTML pages), 16 metadata.
    assert {k: v for k, v in counts.items() if k not in NOTES or k in ("records", "pages")} == {
        "records": 50, "pages": 16, "type_warcinfo": 1, "type_request": 17, "type_metadata": 16}
    assert all(p["url"].startswith("http") and p["text"] for p in pages)
    gbk = next(p for p in pages if p["url"] == "http://0760.jxtdw.com/area/sanxiang/")  # declared gb2312
    assert "中山英才网" in gbk["text"] and "\ufffd" not in gbk["text"]


def test_real_sample_payloads_equal_fastwarcs() -> None:
    """Our framing and HTTP parsing give the bytes fastwarc gives on a well-formed file."""
    needs_samples()
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(CC_SAMPLE, "rb") as fh:
        theirs = [(r.headers.get("WARC-Target-URI"), r.reader.read())
                  for r in ArchiveIterator(fh, record_types=WarcRecordType.response)]
    with open(CC_SAMPLE, "rb") as fh:
        counts: Counter[str] = Counter()
        ours = [(r.url, parse_response(r.block).body) for r in iter_warc_records(ByteStream(fh, counts), 10**7, counts)
                if r.kind == "response"]
    assert len(ours) == 16 and ours == theirs


def test_truncated_real_archive_keeps_records_before_the_cut(tmp_path: Path) -> None:
    needs_samples()
    data = CC_SAMPLE.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    counts: Counter[str] = Counter()
    pages = list(iter_pages(cut, CFG, counts))
    assert 0 < len(pages) < 16 and counts["truncated_archive"] == 1 and accounted(counts)


def test_tables_count_bad_rows(tmp_path: Path) -> None:
    rows = [{"url": "https://a/1", "text": "x" * 30}, {"url": "https://a/2", "text": "short"},
            {"url": "https://a/3"}, {"url": "https://a/4", "text": "y" * 60}]
    lines = "\n".join(json.dumps(r) for r in rows) + "\nnot json\n\n[1]\n"
    (tmp_path / "p.jsonl").write_text(lines)
    (tmp_path / "p.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    small = IngestConfig(min_chars=20, max_bytes=50, keep_math_markup=True)
    for name in ("p.jsonl", "p.jsonl.gz"):
        counts: Counter[str] = Counter()
        pages = list(iter_pages(tmp_path / name, small, counts))
        assert pages == [{"url": "https://a/1", "text": "x" * 30, "source": name}]
        assert counts == Counter({"records": 6, "pages": 1, "empty": 1, "missing_url_or_text": 1, "huge": 1,
                                  "bad_json": 1, "not_object": 1})
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([r for r in rows if "text" in r]), tmp_path / "p.parquet")
    counts = Counter()
    assert [p["url"] for p in iter_pages(tmp_path / "p.parquet", CFG, counts)] == ["https://a/1", "https://a/4"]
    assert counts["empty"] == 1 and accounted(counts)
    pq.write_table(pa.Table.from_pylist([{"link": "u", "text": "t"}]), tmp_path / "q.parquet")
    with pytest.raises(ValueError, match=r"q.parquet: parquet file lacks column\(s\) \['url'\]"):
        list(iter_pages(tmp_path / "q.parquet", CFG, Counter()))
