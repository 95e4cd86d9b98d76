"""Domain discovery (the >10% rule), path proposals and the accepted-paths annotation."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from data_selection.discovery import (
    Proposal,
    accept,
    discover_domains,
    domain_table,
    host_of,
    load_annotation,
    merge_counts,
    path_prefix,
    prefix_counts,
    proposal_frame,
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


def test_domain_table_sums_prefixes_and_divides() -> None:
    # m.org: /q 3 pages 2 collected + /b 2 pages 0 -> 5, 2, 0.4; x.com: /p 4 pages 1 -> 4, 1, 0.25.
    counts = prefix_counts(["x.com"] * 4 + ["m.org"] * 5, ["/p"] * 4 + ["/q"] * 3 + ["/b"] * 2,
                           [True, False, False, False, True, True, False, False, False])
    assert domain_table(counts).rows() == [("m.org", 5, 2, 0.4), ("x.com", 4, 1, 0.25)]
    assert discover_domains(counts, 0.25) == ["m.org"]  # 0.25 is not more than 0.25
    assert discover_domains(counts, 0.2) == ["m.org", "x.com"]


def test_proposal_frame_rows_are_the_proposals_log() -> None:
    props = [Proposal("m.org", "/blog", 3, 1), Proposal("m.org", "/questions", 3, 2)]
    frame = proposal_frame(2, props, [props[1]])
    # 1/3 and 2/3 rounded to 4 decimals: 0.3333 and 0.6667.
    assert frame.to_dicts() == [
        {"round": 2, "path": "m.org/blog", "pages": 3, "collected": 1, "ratio": 0.3333, "accepted": False},
        {"round": 2, "path": "m.org/questions", "pages": 3, "collected": 2, "ratio": 0.6667, "accepted": True},
    ]
    assert proposal_frame(1, [], []).height == 0


def test_domain_ratios_are_exactly_pythons_division() -> None:
    # The >10% rule compares these ratios: they must be collected / pages to the last bit.
    rng = random.Random(0)
    pages = [rng.randrange(1, 10**6) for _ in range(20_000)]
    hits = [rng.randrange(0, n + 1) for n in pages]
    counts = pl.DataFrame({"host": [f"h{i:05d}" for i in range(len(pages))], "prefix": ["/"] * len(pages),
                           "pages": pages, "collected": hits})
    assert domain_table(counts)["ratio"].to_list() == [c / n for c, n in zip(hits, pages)]
