"""scripts/stage_runs: the dotted params overrides and the results pages of the hand-run scripts."""

import importlib.util
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parents[2] / "scripts" / "stage_runs.py"
_spec = importlib.util.spec_from_file_location("stage_runs", _path)
stage_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage_runs)


def test_overrides_set_nested_keys_on_a_copy():
    base = {"seed": 0, "grpo": {"model_reward": {"lr": 2e-6, "steps": 15}}}
    out = stage_runs.with_overrides(base, {"seed": 3, "grpo.model_reward.lr": 1e-5})
    assert out == {"seed": 3, "grpo": {"model_reward": {"lr": 1e-5, "steps": 15}}}
    assert base["seed"] == 0 and base["grpo"]["model_reward"]["lr"] == 2e-6


@pytest.mark.parametrize("key", ["sede", "grpo.model_reward.lrr", "grpo.modelreward.lr", "seed.x"])
def test_unknown_keys_are_named(key):
    with pytest.raises(KeyError, match=key.replace(".", r"\.")):
        stage_runs.with_overrides({"seed": 0, "grpo": {"model_reward": {"lr": 2e-6}}}, {key: 1})


def test_results_page_keeps_the_hand_written_reading(tmp_path):
    md = tmp_path / "page.md"
    stage_runs.write_with_notes(md, "# Title\n\n| a |\n|---|\n| 1 |\n")
    assert md.read_text() == "# Title\n\n| a |\n|---|\n| 1 |\n"
    md.write_text(md.read_text() + "\n## What it shows\n\n- one.\n\n## More\n\n- two.\n")
    stage_runs.write_with_notes(md, "# Title\n\n| a |\n|---|\n| 2 |\n")
    assert md.read_text() == "# Title\n\n| a |\n|---|\n| 2 |\n\n## What it shows\n\n- one.\n\n## More\n\n- two.\n"
