"""Tests for the synthetic web generator: shape, ground truth, duplicates, determinism, speed."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from data_selection.config import WebConfig
from data_selection.dedup import normalize_url
from data_selection.synthetic_web import MATH_KINDS, SEED_KINDS, generate_web

SMALL = WebConfig(n_domains=10, pages_per_domain=20, math_domain_fraction=0.2, mixed_domain_fraction=0.2,
                  near_dup_fraction=0.1, url_dup_fraction=0.05, n_seed_pages=50, n_planted=5, words_per_page=80)
PLANTED = [("synthetic-test/0:question", "A baker has 12 rolls and sells 5 of them; how many rolls remain unsold?"),
           ("synthetic-test/1:question", "What is the sum of the first 7 positive odd integers?")]
KEYS = {"url", "domain", "text", "is_math", "kind", "dup_cluster", "benchmark_id"}


@pytest.fixture(scope="module")
def web() -> tuple[list[dict], list[dict]]:
    return generate_web(SMALL, 3, PLANTED)


def test_sizes_and_keys(web) -> None:
    pool, seeds = web
    n_orig = 10 * 20 + 5
    assert len(pool) == n_orig + round(0.1 * n_orig) + round(0.05 * n_orig)
    assert len(seeds) == 50
    assert all(set(p) == KEYS for p in pool + seeds)
    assert all(p["url"].startswith("https://") and p["domain"] in p["url"].lower() for p in pool)


def test_ground_truth_labels(web) -> None:
    pool, seeds = web
    assert all(p["is_math"] == (p["kind"] in MATH_KINDS) for p in pool)
    assert {p["kind"] for p in seeds} <= set(SEED_KINDS) and all(p["is_math"] for p in seeds)
    assert {p["kind"] for p in pool if p["is_math"]} == set(MATH_KINDS)
    assert {"prices", "sports"} <= {p["kind"] for p in pool if not p["is_math"]}


def _path(page: dict) -> str:
    return "/" + normalize_url(page["url"]).split("/", 3)[3]


def test_host_roles(web) -> None:
    pool, _ = web
    for page in pool:
        section = _path(page).split("/")[1]
        if section in ("questions", "courses"):
            assert page["is_math"]
        elif section in ("blog", "news", "shop", "events"):
            assert not page["is_math"]
    # Mirror copies live under /<original host>/...; originals have a one-word section.
    originals = [p for p in pool if "." not in _path(p).split("/")[1] and "planted-" not in p["url"]]
    math_share: dict[str, list[bool]] = {}
    for page in originals:
        math_share.setdefault(page["domain"], []).append(page["is_math"])
    assert len(math_share) == 10
    assert sum(all(v) for v in math_share.values()) == 2  # math-only hosts
    assert sum(any(v) and not all(v) for v in math_share.values()) == 2  # mixed hosts


def test_planted_pages_quote_the_question_verbatim(web) -> None:
    pool, _ = web
    planted = [p for p in pool if p["benchmark_id"] is not None]
    questions = dict(PLANTED)
    assert all(questions[p["benchmark_id"]] in p["text"] and p["is_math"] for p in planted)
    originals = {_path(p): p["benchmark_id"] for p in planted if _path(p).startswith("/questions/planted-")}
    assert originals == {f"/questions/planted-{j}": PLANTED[j % 2][0] for j in range(5)}
    assert all(p["benchmark_id"] is None for p in pool if "planted-" not in p["url"])


def test_duplicates_carry_ground_truth(web) -> None:
    pool, _ = web
    clusters: dict[int, list[dict]] = {}
    for p in pool:
        if p["dup_cluster"] is not None:
            clusters.setdefault(p["dup_cluster"], []).append(p)
    assert len(clusters) == round(0.1 * 205)
    for members in clusters.values():
        assert len({p["domain"] for p in members}) == 2  # the original host and one mirror
        assert len({p["kind"] for p in members}) == 1
    normalised = Counter(normalize_url(p["url"]) for p in pool)
    assert sum(c - 1 for c in normalised.values()) == round(0.05 * 205)


def test_same_seed_same_web_other_seed_differs() -> None:
    assert generate_web(SMALL, 3, PLANTED) == generate_web(SMALL, 3, PLANTED)
    assert generate_web(SMALL, 4, PLANTED)[0] != generate_web(SMALL, 3, PLANTED)[0]


def test_planting_requires_items() -> None:
    with pytest.raises(ValueError, match="^planted: "):
        generate_web(SMALL, 0, [])


def test_default_size_is_fast() -> None:
    cfg = WebConfig(n_domains=60, pages_per_domain=45, math_domain_fraction=0.15, mixed_domain_fraction=0.2,
                    near_dup_fraction=0.1, url_dup_fraction=0.05, n_seed_pages=1500, n_planted=20,
                    words_per_page=150)
    start = time.perf_counter()
    pool, _ = generate_web(cfg, 0, PLANTED)
    assert len(pool) > 3000
    assert time.perf_counter() - start < 3.0


def test_mirrored_planted_page_keeps_a_multiline_question() -> None:
    cfg = WebConfig(n_domains=2, pages_per_domain=2, math_domain_fraction=0.5, mixed_domain_fraction=0.0,
                    near_dup_fraction=1.0, url_dup_fraction=0.0, n_seed_pages=1, n_planted=1, words_per_page=30)
    question = "Line one of the problem.\nLine two asks: what is 6 * 7?"
    pool, _ = generate_web(cfg, 0, [("t/1:question", question)])
    planted = [p for p in pool if p["benchmark_id"] == "t/1:question"]
    assert len(planted) == 2 and len({p["domain"] for p in planted}) == 2
    assert all(question in p["text"] for p in planted)
