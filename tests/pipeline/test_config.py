"""Strict params loading: every profile loads; bad files fail with the file and the dotted key."""

from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, load_params

ROOT = Path(__file__).resolve().parents[2]
PROFILES = [ROOT / "params.yaml", *sorted((ROOT / "profiles").glob("*.yaml"))]


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_profile_loads(path):
    params = load_params(path)
    assert params.grpo.group_size >= 2


def test_gpu_profile_has_the_papers_grpo_settings():
    p = load_params(ROOT / "profiles" / "gpu.yaml")
    assert (p.grpo.optim.lr, p.grpo.beta, p.grpo.group_size, p.grpo.max_new_tokens, p.grpo.mu) == (1e-6, 0.04, 64, 1024, 1)
    assert p.grpo.questions_per_step * p.grpo.group_size == 1024  # outputs per step (§4.2)
    assert p.model.pretrained and p.evaluate.backend == "vllm"


def edited(tmp_path, change):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    change(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["grpo"].update(betta=0.1), "params.yaml: grpo.betta: unknown key"),
        (lambda r: r["grpo"].pop("beta"), "params.yaml: grpo.beta: missing key"),
        (lambda r: r["grpo"].update(beta="lots"), "params.yaml: grpo.beta: expected float"),
        (lambda r: r["grpo"].update(group_size=1), "params.yaml: grpo.group_size: must be >= 2"),
        (lambda r: r["sft"]["optim"].update(lr=-1), "params.yaml: sft.optim.lr: must be > 0"),
        (lambda r: r["world"]["problems"].update(max_ops=0), "params.yaml: world.problems.max_ops"),
        (lambda r: r["model"].update(architecture="gpt9"), "params.yaml: model.architecture: must be one of"),
        (lambda r: r["evaluate"]["benchmarks"][1].update(n_samples=True),
         "params.yaml: evaluate.benchmarks[1].n_samples: expected int"),
        (lambda r: r["evaluate"]["benchmarks"][0].update(prompt="sixshot"), "params.yaml: evaluate.benchmarks[0].prompt: must be one of"),
        (lambda r: r.update(prompt="fancy"), "params.yaml: prompt: must be one of ['plain', 'cot', 'chat']"),
        (lambda r: r.update(prompt="chat"), "params.yaml: prompt: 'chat' needs a pretrained tokenizer"),
        (lambda r: r["data"]["sft"]["mixture"].update(math=-1.0), "params.yaml: data.sft.mixture.math: must be >= 0"),
        (lambda r: r["evaluate"]["benchmarks"][0].pop("n_problems"), "params.yaml: evaluate.benchmarks[0].n_problems: missing key"),
        (lambda r: r.pop("dedup"), "params.yaml: dedup: missing key"),
    ],
)
def test_bad_params_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        load_params(edited(tmp_path, change))
    assert str(err.value).startswith(message)


def test_exponent_without_dot_reads_as_float(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("lr: 0.00005", "lr: 5e-5"))
    assert load_params(path).grpo.optim.lr == 5e-5


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_profile_switch_validates_then_copies(tmp_path, monkeypatch):
    from pipeline.profile import main

    monkeypatch.chdir(ROOT)
    target = tmp_path / "params.yaml"
    main(["smoke", "--params", str(target)])
    assert target.read_text() == (ROOT / "profiles" / "smoke.yaml").read_text()
    with pytest.raises(SystemExit):
        main(["no-such-profile", "--params", str(target)])


def test_profile_switch_writes_an_absolute_data_root(tmp_path, monkeypatch):
    from pipeline.profile import main

    monkeypatch.chdir(ROOT)
    target = tmp_path / "params.yaml"
    main(["smoke", "--params", str(target), "--data-root", str(tmp_path)])
    assert load_params(target).data.root == str(tmp_path.resolve())
    lines = [a for a, b in zip(target.read_text().splitlines(), (ROOT / "profiles" / "smoke.yaml").read_text().splitlines())
             if a != b]
    assert len(lines) == 1 and lines[0].startswith("  root: /")  # nothing else changes
    with pytest.raises(SystemExit, match="not a directory"):
        main(["smoke", "--params", str(target), "--data-root", str(tmp_path / "nope")])
