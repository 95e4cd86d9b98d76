"""Stages write metrics through `write_metrics_atomic`: floats to 4 decimals (small ones to 4
significant digits), ints and bools untouched, NaN as null, nested dicts and lists too."""

import json

from inputs.jsonl import rounded, write_metrics_atomic


def test_rounding_rule():
    assert rounded(0.123456) == 0.1235 and rounded(43.7578125) == 43.7578 and rounded(0.0013456) == 0.0013
    assert rounded(2.6017271e-05) == 2.602e-05 and rounded(2e-06) == 2e-06  # not 0: a KL, a learning rate
    assert rounded(-4.99912e-05) == -4.999e-05 and str(rounded(-0.0)) == "0.0"  # no "-0.0" in a file
    assert rounded(True) is True and rounded(7) == 7 and isinstance(rounded(7), int)
    assert rounded(float("nan")) is None and rounded(float("inf")) is None


def test_nested_metrics_file(tmp_path):
    path = tmp_path / "m" / "metrics.json"
    write_metrics_atomic(path, {"a": {"b": [0.333333, 2], "c": "text"}, "n": 10, "ok": False})
    assert json.loads(path.read_text()) == {"a": {"b": [0.3333, 2], "c": "text"}, "n": 10, "ok": False}
