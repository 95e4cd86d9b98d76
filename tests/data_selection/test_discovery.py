"""Domain discovery (the >10% rule), path proposals and the accepted-paths annotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_selection.discovery import (
    Proposal,
    accept,
    discover_domains,
    host_of,
    load_annotation,
    merge_counts,
    path_prefix,
    prefix_counts,
    propose_paths,
)

ROOT = Path(__file__).resolve().parents[2]


def test_host_and_prefix() -> None:
    assert host_of("https://MathOverflow.net:443/questions/7?x=1") == "mathoverflow.net"
    assert path_prefix("https://a.org/questions/7/title", 1) == "/questions"
    assert path_prefix("https://a.org/questions/7/title", 2) == "/questions/7"
    assert path_prefix("https://a.org/", 1) == "/"


def test_more_than_ten_percent_is_discovered_exactly_ten_is_not() -> None:
    domains = ["a"] * 10 + ["b"] * 9 + ["c"] * 3
    collected = [True] + [False] * 9 + [True] + [False] * 8 + [False] * 3
    # a: 1/10 = 10% (not more than 10%); b: 1/9 = 11.1%; c: 0%.
    assert discover_domains(prefix_counts(domains, ["/"] * len(domains), collected), 0.1) == ["b"]


def test_proposals_carry_their_collected_ratio_and_the_auto_rule() -> None:
    domains = ["m.org"] * 5 + ["x.com"] * 2
    prefixes = ["/questions", "/questions", "/questions", "/blog", "/blog", "/p", "/p"]
    collected = [True, True, False, False, False, True, True]
    props = propose_paths(prefix_counts(domains, prefixes, collected), ["m.org"])
    assert props == [Proposal("m.org", "/blog", 2, 0), Proposal("m.org", "/questions", 3, 2)]
    assert props[1].ratio == pytest.approx(2 / 3) and props[1].key == "m.org/questions"
    assert accept(props, None, 0.3) == [props[1]]  # auto: ratio >= 0.3
    assert accept(props, None, 0.7) == []
    assert accept(props, ("m.org/blog",), 0.3) == [props[0]]  # a person's list wins


def test_annotation_file_forms(tmp_path: Path) -> None:
    cases = {"": None, "auto\n": None, "accepted: auto\n": None,
             "accepted:\n  - M.org/Questions/\n": ("m.org/questions",)}
    for text, expected in cases.items():
        path = tmp_path / "a.yaml"
        path.write_text(text)
        assert load_annotation(path) == expected
    path.write_text("accepted: [nonsense]\n")
    with pytest.raises(ValueError, match="accepted: expected"):
        load_annotation(path)
    assert load_annotation(ROOT / "annotations" / "math_paths.yaml") is None  # the repo default is auto


def test_shard_counts_sum_to_the_pool_counts(tmp_path: Path) -> None:
    # Two shards see parts of the same hosts; summed, the >10% rule sees whole domains.
    first = prefix_counts(["a", "a", "b"], ["/q", "/x", "/q"], [True, False, False])
    second = prefix_counts(["a", "b", "b", "b"], ["/q", "/q", "/q", "/y"], [False, True, False, False])
    second.write_parquet(tmp_path / "s1.parquet")
    pool = merge_counts([first, tmp_path / "s1.parquet"]).sort(["host", "prefix"])
    assert pool.rows() == [("a", "/q", 2, 1), ("a", "/x", 1, 0), ("b", "/q", 3, 1), ("b", "/y", 1, 0)]
    assert discover_domains(pool, 0.25) == ["a"]  # a: 1/3 > 25%; b: 1/4 is not more than 25%
    assert propose_paths(pool, ["a"]) == [Proposal("a", "/q", 2, 1), Proposal("a", "/x", 1, 0)]
    assert merge_counts([]).height == 0
