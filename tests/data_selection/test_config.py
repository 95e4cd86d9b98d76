"""Tests for the data-selection config dataclasses' validation."""

from __future__ import annotations

import dataclasses

import pytest

from data_selection.config import (
    DecontaminateConfig,
    DedupConfig,
    ExecutorConfig,
    IngestConfig,
    MineConfig,
    WebConfig,
)

WEB = dict(n_domains=10, pages_per_domain=5, math_domain_fraction=0.2, mixed_domain_fraction=0.2,
           near_dup_fraction=0.1, url_dup_fraction=0.05, n_seed_pages=10, n_planted=2, words_per_page=50)


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (WebConfig, {**WEB, "n_domains": 0}, "n_domains"),
        (WebConfig, {**WEB, "near_dup_fraction": 1.5}, "near_dup_fraction"),
        (WebConfig, {**WEB, "math_domain_fraction": 0.7, "mixed_domain_fraction": 0.4}, "mixed_domain_fraction"),
        (WebConfig, {**WEB, "n_planted": -1}, "n_planted"),
        (WebConfig, {**WEB, "pages_per_domain": True}, "pages_per_domain"),
        (DedupConfig, {"bands": 20, "rows": 8}, "bands"),
        (DedupConfig, {"shingle_size": 0}, "shingle_size"),
        (MineConfig, {"top_tokens": 0}, "top_tokens"),
        (MineConfig, {"stop_overlap": 1.5}, "stop_overlap"),
        (MineConfig, {"max_rounds": 0}, "max_rounds"),
        (DecontaminateConfig, {"hub_benchmarks": ("gsm8k",)}, "hub_benchmarks"),
        (ExecutorConfig, {"kind": "spark"}, "kind"),
        (ExecutorConfig, {"workers": 0}, "workers"),
        (ExecutorConfig, {"ray_object_store_mb": 10}, "ray_object_store_mb"),
        (IngestConfig, {"max_bytes": 0}, "max_bytes"),
        (MineConfig, {"lr": 0.0}, "lr"),
        (MineConfig, {"bucket": 2.5}, "bucket"),
        (DecontaminateConfig, {"ngram": 5, "min_ngram": 6}, "min_ngram"),
    ],
)
def test_bad_values_name_their_field(cls, kwargs, field) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        cls(**kwargs)


def test_defaults_are_the_paper_values_where_given() -> None:
    mine = MineConfig()
    assert (mine.dim, mine.lr, mine.word_ngrams, mine.min_count, mine.epoch) == (256, 0.1, 3, 3, 3)
    assert (mine.max_rounds, mine.stop_overlap, mine.domain_ratio) == (4, 0.98, 0.1)
    assert (DecontaminateConfig().ngram, DecontaminateConfig().min_ngram) == (10, 3)


def test_dedup_threshold_from_bands_and_rows() -> None:
    assert DedupConfig(bands=14, rows=8).threshold == pytest.approx((1 / 14) ** (1 / 8))
    assert round(DedupConfig(bands=14, rows=8).threshold, 4) == 0.719


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MineConfig().top_tokens = 5  # type: ignore[misc]
