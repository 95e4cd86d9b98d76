"""`python -m pipeline.replay`: a recorded run replayed through the runner's schedule, checked
against timelines worked out by hand."""

import json

import pytest

from pipeline.repro import Outcome
from pipeline.replay import critical_path, load, main, replay, scaled, times_record

# a (5 s, alone) unlocks b (10 s) and c (6 s); d (4 s) waits for c. On 2 cores, 2 jobs:
# a runs 0-5 with 2 threads; c (one stage below it) and b start at 5 with 1 thread each;
# c ends at 11 and d takes the free core, 11-15; b ends at 15.
UPSTREAM = {"a": [], "b": ["a"], "c": ["a"], "d": ["c"]}
SECONDS = {"a": 5.0, "b": 10.0, "c": 6.0, "d": 4.0}
THREADS = {"a": 2, "b": 1, "c": 1, "d": 1}


def times_file(tmp_path, wall=15.4):
    outcomes = [Outcome(n, THREADS[n], SECONDS[n], "ran") for n in ("a", "c", "d", "b")]
    outcomes.append(Outcome("e", 1, 2.0, "failed"))  # a failed stage is not replayed
    record = times_record(outcomes, {n: set(u) for n, u in UPSTREAM.items()} | {"e": {"a"}},
                          ["a", "b", "c", "d", "e"], cores=2, jobs=2, wall=wall)
    path = tmp_path / "times.json"
    path.write_text(json.dumps(record))
    return path


def test_an_unchanged_replay_follows_the_runners_schedule(tmp_path):
    rec = load(times_file(tmp_path))
    assert set(rec.seconds) == {"a", "b", "c", "d"}
    result = replay(rec, rec.seconds)
    assert result.starts == {"a": 0.0, "b": 5.0, "c": 5.0, "d": 11.0}
    assert result.ends == {"a": 5.0, "b": 15.0, "c": 11.0, "d": 15.0}
    assert result.threads == THREADS and result.other_threads == []
    assert result.wall == 15.0


def test_scaling_by_glob_and_below_a_stage(tmp_path):
    rec = load(times_file(tmp_path))
    half_b = scaled(rec, [("b", 0.5)], [])
    assert half_b == {"a": 5.0, "b": 5.0, "c": 6.0, "d": 4.0}
    assert replay(rec, half_b).wall == 15.0  # a -> c -> d is now the longest chain
    # Every stage below a at half time: c 5-8, b 5-10, d 8-10.
    below = scaled(rec, [], [("a", 0.5)])
    assert below == {"a": 5.0, "b": 5.0, "c": 3.0, "d": 2.0}
    result = replay(rec, below)
    assert (result.ends["c"], result.ends["d"], result.wall) == (8.0, 10.0, 10.0)
    assert scaled(rec, [("[cd]", 2.0), ("d", 0.5)], []) == {"a": 5.0, "b": 10.0, "c": 12.0, "d": 4.0}


def test_a_stage_given_other_threads_is_named(tmp_path):
    rec = load(times_file(tmp_path))
    # c at 20 s: b ends at 15 with nothing ready, so d starts alone at 25 with both cores.
    result = replay(rec, scaled(rec, [("c", 20 / 6)], []))
    assert result.starts["d"] == pytest.approx(25.0) and result.threads["d"] == 2
    assert result.other_threads == ["d"]


def test_one_job_at_a_time_is_the_sum(tmp_path):
    rec = load(times_file(tmp_path))
    assert replay(rec, rec.seconds, jobs=1).wall == 25.0


def test_critical_path_is_the_longest_chain():
    seconds = {"a": 5.0, "b": 10.0, "c": 6.0, "d": 4.5}
    assert critical_path({n: set(u) for n, u in UPSTREAM.items()}, seconds) == (15.5, ["a", "c", "d"])


def test_the_report_gives_recorded_and_replayed_times_and_the_bounds(tmp_path, capsys):
    assert main([str(times_file(tmp_path)), "--scale-below", "a=0.5", "--timeline"]) == 0
    out = capsys.readouterr().out
    assert "recorded run: 0.3 min of wall time, 0.4 min of stage time, 4 stages, 2 cores" in out
    assert "replayed:     0.2 min of wall time, 0.2 min of stage time" in out
    # Core time: a holds both cores for 5 s, then b, c, d one each: (10 + 5 + 3 + 2) / 2 = 10 s.
    assert "lower bounds: 0.2 min along a -> b; 0.2 min of core time (seconds x threads) over 2 cores" in out
    assert "d                                  1      8.0     10.0" in out


def test_bad_inputs_get_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit, match="writes it at the end of a run"):
        main([str(tmp_path / "missing.json")])
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(SystemExit, match="not JSON"):
        main([str(bad)])
    bad.write_text(json.dumps({"version": 1, "stages": {"a": {"seconds": 1}}, "order": ["a"], "cores": 2,
                               "jobs": 2, "wall_seconds": 1}))
    with pytest.raises(SystemExit, match="malformed"):
        main([str(bad)])
    record = json.loads(times_file(tmp_path).read_text())
    for change, message in ((("d", "seconds", -1), "d: seconds -1.0"), (("d", "threads", 0), "d: threads 0"),
                            (("d", "upstream", ["z"]), "d waits for z, which is not in the record"),
                            (("a", "upstream", ["d"]), "a cycle")):
        broken = json.loads(json.dumps(record))
        broken["stages"][change[0]][change[1]] = change[2]
        bad.write_text(json.dumps(broken))
        with pytest.raises(SystemExit, match=message):
            main([str(bad)])
    good = str(times_file(tmp_path))
    with pytest.raises(SystemExit, match="--scale z\\*: matches no stage"):
        main([good, "--scale", "z*=2"])
    with pytest.raises(SystemExit, match="--scale-below z: not a stage"):
        main([good, "--scale-below", "z=2"])
    for arg in ("b", "b=0", "b=x", "=2"):
        with pytest.raises(SystemExit):
            main([good, "--scale", arg])
        assert "expected NAME=FACTOR" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([good, "--cores", "0"])
    assert "--cores and --jobs must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["run_times.json", "run_times_avx512.json"])
def test_the_committed_records_replay_to_their_measured_wall_time(name):
    """reports/run_times*.json are real default runs, on an AVX2 and an AVX-512 machine (README,
    "Reference results"): replayed unchanged through today's Schedule each must land on the wall
    time the runner measured, or the README's what-ifs from them no longer describe this runner."""
    from pathlib import Path

    rec = load(Path(__file__).resolve().parents[2] / "reports" / name)
    result = replay(rec, rec.seconds)
    assert result.other_threads == []
    assert abs(result.wall - rec.wall) <= 0.01 * rec.wall
