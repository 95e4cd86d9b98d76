"""Report table, curves, PNG writer and EvaluateConfig validation."""

import pytest

from evaluation.config import BenchmarkConfig, EvaluateConfig
from evaluation.report import curves_rows, markdown_report, markdown_table, plot_passk_majk

METRICS = {
    "sft": {"n_problems": 500, "n_samples": 4, "top1": 0.60, "pass@1": 0.55, "pass@2": 0.70, "pass@4": 0.80,
            "maj@1": 0.55, "maj@2": 0.55, "maj@4": 0.62, "sample_acc": 0.55},
    "grpo": {"n_problems": 500, "n_samples": 4, "top1": 0.61, "pass@1": 0.60, "pass@2": 0.72, "pass@4": 0.80,
             "maj@1": 0.60, "maj@2": 0.60, "maj@4": 0.70, "sample_acc": 0.60},
}


def test_markdown_table():
    text = markdown_table(METRICS)
    lines = text.splitlines()
    assert lines[0] == "| model | top1 | maj@1 | maj@2 | maj@4 | pass@1 | pass@2 | pass@4 | sample_acc | n_problems |"
    assert lines[2] == "| sft | 60.0 | 55.0 | 55.0 | 62.0 | 55.0 | 70.0 | 80.0 | 55.0 | 500 |"
    assert lines[3] == "| grpo | 61.0 | 60.0 | 60.0 | 70.0 | 60.0 | 72.0 | 80.0 | 60.0 | 500 |"
    assert "grpo beat sft on top1 (61.0% vs 60.0%, +1.0 points; within 2 standard errors" in text
    assert "grpo beat sft on maj@4 (70.0% vs 62.0%, +8.0 points; beyond 2 standard errors" in text


def test_markdown_table_says_did_not_beat():
    worse = {"base": METRICS["grpo"], "other": METRICS["sft"]}
    assert "other did not beat base on top1 (60.0% vs 61.0%, -1.0 points" in markdown_table(worse)


def test_curves_rows():
    rows = curves_rows(METRICS)
    assert len(rows) == 6
    assert rows[0] == {"model": "sft", "k": 1, "pass_at_k": 0.55, "maj_at_k": 0.55}
    assert rows[-1] == {"model": "grpo", "k": 4, "pass_at_k": 0.80, "maj_at_k": 0.70}


NESTED = {
    "sft": {"synthetic": {**METRICS["sft"], "top1_strict": 0.5},
            "math500": {**METRICS["sft"], "by_level": {"1": {"n_problems": 3, "top1": 0.5, "maj@4": 0.25, "pass@4": 1.0}}}},
    "grpo": {"synthetic": {**METRICS["grpo"], "top1_strict": 0.6}, "math500": METRICS["grpo"]},
}


def test_markdown_report_has_every_model_and_benchmark():
    text = markdown_report(NESTED, "fig7.png")
    assert "| benchmark | model | top1 | top1 strict | maj@n | pass@n | n samples | n problems |" in text
    assert "| synthetic | sft | 60.0 | 50.0 | 62.0 | 80.0 | 4 | 500 |" in text
    assert "| math500 | grpo | 61.0 |" in text
    assert "## math500" in text and "### math500 by level" in text
    assert "| 1 | 50.0 | 25.0 | 3 |" in text
    assert "![pass@K and maj@K against K](fig7.png)" in text


def test_plot_writes_png(tmp_path):
    path = tmp_path / "sub" / "passk_majk.png"
    plot_passk_majk(NESTED, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["passk_majk.png"]  # no temp file left


def test_config_defaults_are_valid():
    cfg = EvaluateConfig()
    assert cfg.temperature == 0.7 and cfg.top_p == 1.0 and cfg.backend == "hf"
    assert [b.name for b in cfg.benchmarks] == ["synthetic"]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"backend": "tgi"}, "backend"),
        ({"dtype": "int8"}, "dtype"),
        ({"batch_size": 0}, "batch_size"),
        ({"top_p": 0.0}, "top_p"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": 0.0, "benchmarks": (BenchmarkConfig(n_samples=4),)}, "temperature"),
        ({"batch_size": 4, "benchmarks": (BenchmarkConfig(n_samples=8),)}, "batch_size"),
        ({"maj_subsets": 0}, "maj_subsets"),
        ({"grading_workers": 0}, "grading_workers"),
        ({"grading_timeout": 0.5}, "grading_timeout"),
        ({"benchmarks": ()}, "benchmarks"),
        ({"benchmarks": (BenchmarkConfig(), BenchmarkConfig())}, "benchmarks"),
    ],
)
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        EvaluateConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_problems": -1}, "n_problems"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"greedy_max_new_tokens": 0}, "greedy_max_new_tokens"),
        ({"prompt": "sixshot"}, "prompt"),
        ({"name": "a b"}, "name"),
    ],
)
def test_benchmark_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        BenchmarkConfig(**kwargs)
