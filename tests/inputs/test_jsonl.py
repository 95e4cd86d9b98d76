"""Tests for tolerant JSONL reading and atomic JSON/JSONL writing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from inputs.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic, write_text_atomic


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\nnot json\n[1, 2]\n\n{"b": 2}\n"str"\n{"c": \n', encoding="utf-8")
    skipped: Counter[str] = Counter()
    records = list(read_jsonl(path, skipped))
    assert records == [{"a": 1}, {"b": 2}]
    assert skipped == Counter({"bad_json": 2, "not_object": 2})


def test_missing_file_fails_at_call_time_with_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_jsonl(missing)  # not iterated: the check must be eager


def test_write_jsonl_round_trip_creates_parents_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "out.jsonl"
    records = [{"url": "https://a/x", "n": 1}, {"url": "https://b/é", "n": 2}]
    assert write_jsonl_atomic(path, iter(records)) == 2
    assert list(read_jsonl(path)) == records
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.jsonl"]


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl_atomic(path, [{"old": True}])

    def broken():
        yield {"new": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_jsonl_atomic(path, broken())
    assert list(read_jsonl(path)) == [{"old": True}]
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_json_atomic_is_sorted_and_indented(tmp_path: Path) -> None:
    path = tmp_path / "m" / "metrics.json"
    write_json_atomic(path, {"b": 1, "a": {"d": 2.5, "c": [1]}})
    assert path.read_text(encoding="utf-8") == (
        '{\n  "a": {\n    "c": [\n      1\n    ],\n    "d": 2.5\n  },\n  "b": 1\n}\n'
    )
    assert json.loads(path.read_text(encoding="utf-8"))["b"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_write_text_atomic(tmp_path: Path) -> None:
    path = tmp_path / "r" / "report.md"
    write_text_atomic(path, "# Report\n")
    assert path.read_text(encoding="utf-8") == "# Report\n"
    assert [p.name for p in path.parent.iterdir()] == ["report.md"]


def test_count_by_and_texts_read_by_index(tmp_path):
    from collections import Counter

    from inputs.jsonl import JsonlTexts, count_by

    path = tmp_path / "p.jsonl"
    path.write_text('{"url": "a", "text": "one", "source": "x.warc.gz"}\n{"url": "b"}\nbad\n'
                    '{"url": "c", "text": "two"}\n{"url": "d", "text": "three", "source": "x.warc.gz"}\n')
    assert count_by(path, "source", missing="synthetic") == {"synthetic": 2, "x.warc.gz": 2}
    skipped: Counter[str] = Counter()
    texts = JsonlTexts(path, skipped)
    assert len(texts) == 3 and [texts[i] for i in (2, 0, 1)] == ["three", "one", "two"]
    assert skipped == Counter({"missing_url_or_text": 1, "bad_json": 1})
