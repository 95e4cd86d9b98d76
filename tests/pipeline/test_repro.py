"""The parallel runner's schedule (pipeline/repro.py) and the per-stage thread override it sets
(pipeline/stage.py). The runner on the whole smoke DAG: tests/pipeline/test_dvc_smoke.py."""

import pytest

from pipeline.config import ConfigError
from pipeline.repro import Outcome, Schedule, main, summary, what_dvc_did
from pipeline.stage import THREADS_ENV, stage_threads

# A small DAG shaped like the default's tail: sft, then rm_data and two rule-reward runs; the
# reward model feeds two runs; every run is evaluated.
DAG = {
    "sft": set(),
    "rm_data": {"sft"},
    "rm": {"rm_data"},
    "grpo_a": {"sft"},
    "grpo_b": {"sft"},
    "grpo_rm": {"rm"},
    "eval_a": {"grpo_a"},
    "eval_rm": {"grpo_rm"},
}
ORDER = list(DAG)


def schedule(cores=2, jobs=2, dag=DAG):
    return Schedule({k: set(v) for k, v in dag.items()}, ORDER, cores=cores, jobs=jobs)


def test_a_stage_ready_alone_gets_every_core():
    s = schedule()
    assert s.start_next() == [("sft", 2)]
    assert s.start_next() == []  # no core left


def test_two_ready_stages_share_the_cores_most_downstream_first():
    s = schedule()
    s.start_next()
    s.finish("sft", True)
    # rm_data unlocks rm, grpo_rm, eval_rm (3 below it); grpo_a and grpo_b one each.
    assert s.start_next() == [("rm_data", 1), ("grpo_a", 1)]
    s.finish("grpo_a", True)
    assert s.start_next() == [("grpo_b", 1)]  # one core free; nothing below grpo_b or eval_a: order decides
    s.finish("rm_data", True)
    # rm (2 below) before eval_a (0 below).
    assert s.start_next() == [("rm", 1)]


def test_jobs_bound_the_stages_at_a_time_and_split_the_cores():
    s = schedule(cores=5, jobs=2)
    s.start_next()
    s.finish("sft", True)
    assert s.start_next() == [("rm_data", 3), ("grpo_a", 2)]
    one = schedule(cores=2, jobs=1)
    one.start_next()
    one.finish("sft", True)
    assert one.start_next() == [("rm_data", 2)]


def test_a_failure_blocks_what_is_below_it_and_the_rest_runs():
    s = schedule(jobs=1)
    while not s.over:
        for name, _ in s.start_next():
            s.finish(name, name != "rm")
    assert s.failed == {"rm"}
    assert s.blocked == {"grpo_rm", "eval_rm"}
    assert s.done == set(DAG) - {"rm", "grpo_rm", "eval_rm"}
    assert s.not_run() == ["grpo_rm", "eval_rm"]


def test_every_stage_runs_once_after_its_upstream():
    s = schedule(cores=2, jobs=2)
    started = []
    while not s.over:
        for name, threads in s.start_next():
            assert DAG[name] <= s.done and threads >= 1
            started.append(name)
        s.finish(sorted(s.running)[0], True)
    assert sorted(started) == sorted(DAG)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="not in the run"):
        Schedule({"a": {"missing"}}, ["a"], cores=2, jobs=2)
    with pytest.raises(ValueError, match="jobs=0"):
        Schedule({"a": set()}, ["a"], cores=2, jobs=0)


def test_what_dvc_did_is_read_from_its_log():
    assert what_dvc_did("Running stage 'sft':\n> python ...", 0) == "ran"
    assert what_dvc_did("Stage 'sft' is cached - skipping run, checking out outputs", 0) == "cached"
    assert what_dvc_did("Stage 'sft' didn't change, skipping", 0) == "up to date"
    assert what_dvc_did("Running stage 'sft':\nTraceback", 1) == "failed"


def test_summary_names_each_stage_and_the_wall_time():
    text = summary([Outcome("sft", 2, 250.0, "ran"), Outcome("evaluate@sft", 1, 30.5, "ran")], 300.0, ["report"])
    assert "evaluate@sft        1     30.5  ran" in text
    assert "2 stages in 5.0 min of wall time (4.7 min of stage time)" in text
    assert "not run (upstream failed): report" in text


def test_runner_refuses_bad_arguments(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["--jobs", "0"])
    assert "--jobs and --cores must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])
    assert "no dvc.yaml here" in capsys.readouterr().err


def test_threads_come_from_params_unless_the_runner_sets_them(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert stage_threads(2) == 2
    monkeypatch.setenv(THREADS_ENV, "1")
    assert stage_threads(2) == 1
    monkeypatch.setenv(THREADS_ENV, "two")
    with pytest.raises(ConfigError, match=THREADS_ENV):
        stage_threads(2)
    monkeypatch.setenv(THREADS_ENV, "-1")
    with pytest.raises(ConfigError, match=THREADS_ENV):
        stage_threads(2)


def test_an_unknown_target_is_one_line_from_dvc(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(["--dry", "no-such-stage"]) == 1
    assert "no-such-stage" in capsys.readouterr().err


def test_runner_on_a_real_dvc_repo_shares_cores_and_stops_below_a_failure(tmp_path, monkeypatch):
    """Real git and DVC: `ok` and `boom` are ready together and get a core each (the stage writes
    the PIPELINE_THREADS it saw); `after_boom` never starts; `after_ok` runs; DVC locks `ok`; the
    stage times are written for the replay."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    py = sys.executable

    def stage(cmd, deps, outs):
        return {"cmd": cmd, "deps": deps, "outs": outs}

    write_threads = f"{py} -c \"import os; open('{{}}', 'w').write(os.environ['{THREADS_ENV}'])\""
    dag = {"stages": {
        "root": stage(write_threads.format("root.txt"), ["seed.txt"], ["root.txt"]),
        "ok": stage(write_threads.format("ok.txt"), ["root.txt"], ["ok.txt"]),
        "boom": stage(f"{py} -c \"raise SystemExit(3)\"", ["root.txt"], ["boom.txt"]),
        "after_ok": stage(write_threads.format("after_ok.txt"), ["ok.txt"], ["after_ok.txt"]),
        "after_boom": stage(write_threads.format("after_boom.txt"), ["boom.txt"], ["after_boom.txt"]),
    }}
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(py).parent}{os.pathsep}{os.environ['PATH']}"}
    for cmd in (["git", "init", "-q"], [py, "-m", "dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dag))
    (tmp_path / "seed.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    assert main(["--jobs", "2", "--cores", "2", "--logs", "logs"]) == 1
    assert (tmp_path / "root.txt").read_text() == "2"  # alone: every core
    assert (tmp_path / "ok.txt").read_text() == "1"  # beside boom: one core
    assert (tmp_path / "after_ok.txt").exists() and not (tmp_path / "after_boom.txt").exists()
    assert "exited with 3" in (tmp_path / "logs" / "boom.log").read_text()
    # The stage times go to a file for `python -m pipeline.replay`; a failed stage is not in it.
    import json

    times = json.loads((tmp_path / "logs" / "times.json").read_text())
    assert set(times["stages"]) == {"root", "ok", "after_ok"} and times["cores"] == 2
    assert times["stages"]["after_ok"]["upstream"] == ["ok", "root"] and times["stages"]["root"]["threads"] == 2
    locked = yaml.safe_load((tmp_path / "dvc.lock").read_text())["stages"]
    assert {"root", "ok", "after_ok"} <= set(locked) and "boom" not in locked
