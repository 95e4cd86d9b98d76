"""The `data` params section: each role's source, the stages that import real inputs (seed,
problems@sft/rl), and one clear line naming the param and the path for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, load_params
from pipeline.problems import main as problems_main
from pipeline.seed import main as seed_main

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def write_params(tmp_path: Path, **data) -> Path:
    """The smoke profile with `data` keys replaced (nested dicts merge one level deep)."""
    params = yaml.safe_load((ROOT / "profiles" / "smoke.yaml").read_text())
    for key, value in data.items():
        params["data"][key] = {**params["data"][key], **value} if isinstance(value, dict) else value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_stage(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_unknown_source_kind_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^params.yaml: data.web.source: must be one of \['synthetic', 'files', 'hub'\], got 'crawl'"):
        load_params(write_params(tmp_path, web={"source": "crawl"}))
    with pytest.raises(ConfigError, match=r"^params.yaml: data.sft.source: must be one of"):
        load_params(write_params(tmp_path, sft={"source": "gsm8k"}))
    with pytest.raises(ConfigError, match=r"^params.yaml: data.seed.hub: must name a dataset"):
        load_params(write_params(tmp_path, seed={"source": "hub", "hub": None}))


def test_the_ingest_switch_must_agree_with_the_web_source(tmp_path):
    with pytest.raises(ConfigError, match=r"data.web.ingest: must be \['web'\] when web.source is files"):
        load_params(write_params(tmp_path, web={"source": "files", "ingest": []}))
    with pytest.raises(ConfigError, match=r"data.web.ingest: must be \[\] when web.source is synthetic"):
        load_params(write_params(tmp_path, web={"ingest": ["web"]}))


def test_a_glob_matching_nothing_stops_the_first_stage_before_any_work(tmp_path):
    (tmp_path / "root" / "web").mkdir(parents=True)
    params = write_params(tmp_path, root=str(tmp_path / "root"),
                          web={"source": "files", "glob": "*.warc.gz", "ingest": ["web"]})
    done = run_stage("pipeline.world", "--params", str(params), "--web", "w.jsonl", "--seed-pages", "s.jsonl",
                     "--train", "t.jsonl", "--test", "e.jsonl", "--metrics", "m.json", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: params.yaml: data.web.glob: '*.warc.gz' matches no file in {tmp_path / 'root' / 'web'}")
    assert not (tmp_path / "w.jsonl").exists()


def test_a_missing_benchmark_file_is_named_when_data_is_real(tmp_path):
    root = tmp_path / "root"
    for rel in ("gsm8k/train.jsonl", "math/train.jsonl"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text('{"question": "Q", "answer": "#### 1"}\n')
    params = write_params(tmp_path, root=str(root), sft={"source": "real"})
    done = run_stage("pipeline.world", "--params", str(params), "--web", "w.jsonl", "--seed-pages", "s.jsonl",
                     "--train", "t.jsonl", "--test", "e.jsonl", "--metrics", "m.json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: params.yaml: data.benchmarks.gsm8k: file not found: {root / 'gsm8k/test.jsonl'} (and 2 more)")


def _bench_files(tmp_path: Path) -> list[str]:
    """Normalised benchmark files as the benchmarks@ stages write them (one GSM8K test item)."""
    out = []
    for name in ("gsm8k", "math", "math500"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"id": f"{name}/0", "question": f"A benchmark question about {name} that is "
                                    "long enough to have several ten word windows in it for sure.",
                                    "solution": "It is 4.\n#### 4", "answer": "4", "source": name}) + "\n")
        out += ["--benchmark", str(path)]
    return out


def _problem_args(tmp_path: Path, gsm8k: Path, math: Path, role: str = "sft") -> list[str]:
    return ["--role", role, "--synthetic", str(tmp_path / "none.jsonl"), "--gsm8k", str(gsm8k), "--math", str(math),
            *_bench_files(tmp_path), "--out", str(tmp_path / "out.jsonl"), "--metrics", str(tmp_path / "m.json")]


def test_a_training_file_without_usable_records_names_the_param(tmp_path):
    root = tmp_path / "root"
    (root / "gsm8k").mkdir(parents=True)
    (root / "math").mkdir()
    (root / "gsm8k" / "train.jsonl").write_text('{"question": "Q", "answer": "no marker"}\nnot json\n')
    (root / "math" / "train.jsonl").write_text('{"problem": "P", "solution": "$\\\\boxed{2}$"}\n')
    params = write_params(tmp_path, root=str(root), sft={"source": "real"})
    for name in ("gsm8k", "math", "math500"):  # the params check wants the benchmark files present
        (root / name).mkdir(exist_ok=True)
        (root / name / "test.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"^data.train_files.gsm8k: .*gsm8k/train.jsonl: gsm8k: no usable problems "
                                         r"in 1 records .*skipped_missing_answer"):
        problems_main(["--params", str(params), *_problem_args(tmp_path, root / "gsm8k" / "train.jsonl",
                                                                root / "math" / "train.jsonl")])


def _real_train(tmp_path: Path, n: int) -> tuple[Path, Path, dict]:
    """n + 1 rows of GSM8K and MATH train, where GSM8K's last is a GSM8K *test* item (returned)."""
    if not (SHARED / "gsm8k" / "train.jsonl").is_file():
        pytest.skip(f"real data absent: {SHARED} (see shared/data/README.md)")
    root = tmp_path / "root"
    planted = json.loads((SHARED / "gsm8k" / "test.jsonl").read_text().splitlines()[0])
    for name in ("gsm8k", "math"):
        rows = (SHARED / name / "train.jsonl").read_text().splitlines()[: n if name == "gsm8k" else n + 1]
        if name == "gsm8k":
            rows.append(json.dumps(planted))
        (root / name).mkdir(parents=True)
        (root / name / "train.jsonl").write_text("\n".join(rows) + "\n")
    for name in ("gsm8k", "math", "math500"):
        (root / name / "test.jsonl").parent.mkdir(exist_ok=True)
        (root / name / "test.jsonl").write_text((SHARED / name / "test.jsonl").read_text())
    return root / "gsm8k" / "train.jsonl", root / "math" / "train.jsonl", planted


def test_real_problems_are_mixed_normalised_and_decontaminated(tmp_path):
    gsm8k, math, planted = _real_train(tmp_path, 60)
    params = write_params(tmp_path, root=str(gsm8k.parents[1]), rl={"source": "real", "max_problems": 0,
                                                                     "mixture": {"gsm8k": 1.0, "math": 1.0}})
    args = _problem_args(tmp_path, gsm8k, math, role="rl")
    # Decontaminate against the real GSM8K test file, normalised as benchmarks@gsm8k writes it.
    from pipeline.benchmarks import main as benchmarks_main

    benchmarks_main(["--params", str(params), "--name", "gsm8k", "--source", str(SHARED / "gsm8k" / "test.jsonl"),
                     "--out", str(tmp_path / "gsm8k.jsonl"), "--metrics", str(tmp_path / "b.json")])
    problems_main(["--params", str(params), *args])
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["drawn"] == {"gsm8k": 61, "math": 61}  # 61 rows each, shares 1:1: all of them
    assert planted["question"] not in {p["question"] for p in out}
    assert metrics["decontamination"]["removed_by_benchmark"].get("gsm8k", 0) >= 1
    assert metrics["by_source"]["gsm8k"] + metrics["by_source"]["math"] == len(out) == metrics["problems"]
    assert set(out[0]) == {"id", "question", "solution", "answer", "source", "level", "subject"}


def test_seed_from_problems_is_the_offline_openwebmath_stand_in(tmp_path):
    gsm8k, math, _ = _real_train(tmp_path, 30)
    params = write_params(tmp_path, root=str(gsm8k.parents[1]), seed={"source": "problems", "max_pages": 50})
    seed_main(["--params", str(params), "--synthetic", str(tmp_path / "none.jsonl"), "--gsm8k", str(gsm8k),
               "--math", str(math), "--out", str(tmp_path / "seed.jsonl"), "--metrics", str(tmp_path / "m.json")])
    pages = [json.loads(line) for line in (tmp_path / "seed.jsonl").read_text().splitlines()]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert len(pages) == metrics["pages"] == 50 and sum(metrics["by_source"].values()) == 50
    assert all(p["url"].startswith(f"problem://{p['source']}/") and "\n\n" in p["text"] for p in pages)
