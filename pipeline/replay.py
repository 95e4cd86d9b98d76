"""`python -m pipeline.replay`: what a recorded run of `python -m pipeline.repro` would take if
some stages were faster or slower, without running anything.

The runner writes `logs/repro/times.json` at the end of a run: each stage's seconds and threads,
the stages it waited for, and the cores and jobs it had. This replays that run through the same
`Schedule` the runner uses (same start order, same core split), with each stage lasting its
recorded time times its scale factor, and prints the predicted wall time beside two lower bounds
(the longest chain of stages, and the core time, seconds x threads, spread over the cores).

A stage lasts its recorded time whatever threads the replay gives it; where a changed finish
order gives a stage another thread count than it ran with, the replay says how many did, since
its time then is a guess (a second core sped a GRPO step up by 25% only: README, "Running stages
side by side"). Replaying a run unchanged checks the model: the wall time it predicts against
the one the runner measured, which includes the runner's own polling and DVC's locking.
"""

from __future__ import annotations

import argparse
import fnmatch
import heapq
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from pipeline.repro import Schedule, stage_graph

TIMES_VERSION = 1


@dataclass(frozen=True)
class Recorded:
    """One run of the runner: what `times.json` holds."""

    seconds: dict[str, float]
    threads: dict[str, int]
    upstream: dict[str, set[str]]
    order: list[str]
    cores: int
    jobs: int
    wall: float


@dataclass(frozen=True)
class Replayed:
    starts: dict[str, float]
    ends: dict[str, float]
    threads: dict[str, int]
    wall: float
    other_threads: list[str]  # stages replayed with a thread count they did not run with


def times_record(outcomes, upstream: dict[str, set[str]], order: list[str], cores: int, jobs: int,
                 wall: float) -> dict:
    """The JSON the runner writes: every stage that did not fail (a stage DVC restored from its
    run cache or found up to date still took its seconds, and waited where it waited)."""
    ran = [o for o in outcomes if o.what != "failed"]
    names = {o.name for o in ran}
    return {
        "version": TIMES_VERSION, "cores": cores, "jobs": jobs, "wall_seconds": round(wall, 1),
        "order": [n for n in order if n in names],
        "stages": {o.name: {"seconds": round(o.seconds, 1), "threads": o.threads, "result": o.what,
                            "upstream": sorted(upstream.get(o.name, set()) & names)} for o in ran},
    }


def load(path: str | Path) -> Recorded:
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SystemExit(f"error: {path}: no such file; `python -m pipeline.repro` writes it at the end of a run")
    except json.JSONDecodeError as err:
        raise SystemExit(f"error: {path}: not JSON ({err})")
    if not isinstance(raw, dict) or raw.get("version") != TIMES_VERSION or not isinstance(raw.get("stages"), dict):
        raise SystemExit(f"error: {path}: not a times file of version {TIMES_VERSION} (keys version, stages, ...)")
    stages = raw["stages"]
    if not stages:
        raise SystemExit(f"error: {path}: no stage finished in that run, nothing to replay")
    try:
        rec = Recorded(
            seconds={n: float(s["seconds"]) for n, s in stages.items()},
            threads={n: int(s["threads"]) for n, s in stages.items()},
            upstream={n: set(s["upstream"]) for n, s in stages.items()},
            order=list(raw["order"]), cores=int(raw["cores"]), jobs=int(raw["jobs"]),
            wall=float(raw["wall_seconds"]))
    except (KeyError, TypeError, ValueError) as err:
        raise SystemExit(f"error: {path}: malformed ({type(err).__name__}: {err})")
    problems = [f"{n}: seconds {t}" for n, t in rec.seconds.items() if not t >= 0]
    problems += [f"{n}: threads {t}" for n, t in rec.threads.items() if t < 1]
    problems += [f"{n} waits for {u}, which is not in the record" for n, ups in rec.upstream.items()
                 for u in sorted(ups - set(stages))]
    if rec.cores < 1 or rec.jobs < 1:
        problems.append(f"cores {rec.cores}, jobs {rec.jobs}")
    if not problems:
        problems += [f"a cycle: {' -> '.join(c)}" for c in list(nx.simple_cycles(stage_graph(rec.upstream)))[:1]]
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise SystemExit(f"error: {path}: malformed ({problems[0]}{more})")
    return rec


def replay(rec: Recorded, seconds: dict[str, float], cores: int | None = None,
           jobs: int | None = None) -> Replayed:
    """Event by event: start what the schedule starts, then finish the stage that ends first
    (ties in dvc.yaml order, as the runner polls them), until every stage is done."""
    schedule = Schedule({n: set(u) for n, u in rec.upstream.items()}, rec.order,
                        cores=cores or rec.cores, jobs=jobs or rec.jobs)
    rank = {n: i for i, n in enumerate(rec.order)}
    now, starts, ends, threads, running = 0.0, {}, {}, {}, []
    while True:
        for name, t in schedule.start_next():
            starts[name], threads[name] = now, t
            heapq.heappush(running, (now + seconds[name], rank.get(name, len(rank)), name))
        if schedule.over:
            break
        now, _, name = heapq.heappop(running)
        ends[name] = now
        schedule.finish(name, True)
    other = [n for n in rec.order if n in threads and threads[n] != rec.threads[n]]
    return Replayed(starts, ends, threads, max(ends.values(), default=0.0), other)


def critical_path(upstream: dict[str, set[str]], seconds: dict[str, float]) -> tuple[float, list[str]]:
    """The longest chain of stages, each waiting for the one before (a bound no core count beats)."""
    best: dict[str, tuple[float, list[str]]] = {}
    for name in nx.topological_sort(stage_graph(upstream)):
        before = max((best[u] for u in upstream[name]), default=(0.0, []), key=lambda b: b[0])
        best[name] = (before[0] + seconds[name], before[1] + [name])
    return max(best.values(), key=lambda b: b[0])


def scaled(rec: Recorded, scales: list[tuple[str, float]], below: list[tuple[str, float]]) -> dict[str, float]:
    """Each stage's seconds times every factor whose glob matches its name and every factor of a
    stage it is downstream of (`--scale-below`)."""
    graph = stage_graph(rec.upstream)
    out = dict(rec.seconds)
    for pattern, factor in scales:
        hits = fnmatch.filter(out, pattern)
        if not hits:
            raise SystemExit(f"error: --scale {pattern}: matches no stage of the run ({', '.join(rec.order)})")
        for name in hits:
            out[name] *= factor
    for stage, factor in below:
        if stage not in graph:
            raise SystemExit(f"error: --scale-below {stage}: not a stage of the run ({', '.join(rec.order)})")
        for name in nx.descendants(graph, stage):
            out[name] *= factor
    return out


def factor_arg(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        factor = float(value)
    except ValueError:
        factor = -1.0
    if not sep or not name or not factor > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=FACTOR with FACTOR > 0 (e.g. 'evaluate@*=0.5')")
    return name, factor


def report(rec: Recorded, seconds: dict[str, float], result: Replayed, cores: int, timeline: bool) -> str:
    lines = []
    if timeline:
        lines.append(f"{'stage':<28} threads    start      end")
        for name in sorted(result.starts, key=lambda n: (result.starts[n], result.ends[n])):
            lines.append(f"{name:<28} {result.threads[name]:>7} {result.starts[name]:>8.1f} {result.ends[name]:>8.1f}")
    chain, path = critical_path(rec.upstream, seconds)
    busy = sum(seconds.values())
    # A stage holds the cores it was given however long it runs: SFT, alone with both cores, keeps
    # the second one from other work. So the bound spreads core time (seconds x threads), not seconds.
    core_time = sum(seconds[n] * result.threads[n] for n in seconds)
    lines.append(f"recorded run: {rec.wall / 60:.1f} min of wall time, {sum(rec.seconds.values()) / 60:.1f} min "
                 f"of stage time, {len(rec.seconds)} stages, {rec.cores} cores")
    lines.append(f"replayed:     {result.wall / 60:.1f} min of wall time, {busy / 60:.1f} min of stage time")
    lines.append(f"lower bounds: {chain / 60:.1f} min along {' -> '.join(path)}; {core_time / cores / 60:.1f} min "
                 f"of core time (seconds x threads) over {cores} cores")
    if result.other_threads:
        lines.append(f"note: {len(result.other_threads)} stages replayed with other thread counts than they ran "
                     f"with, at their recorded times: {', '.join(result.other_threads)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.replay",
        description="Replay a recorded `python -m pipeline.repro` run through its schedule with some stages "
                    "scaled, and print the wall time it would take. Nothing runs.")
    p.add_argument("times", nargs="?", default="logs/repro/times.json",
                   help="the runner's times file (default logs/repro/times.json)")
    p.add_argument("--scale", type=factor_arg, action="append", default=[], metavar="GLOB=FACTOR",
                   help="multiply the time of the stages whose name matches GLOB (fnmatch: 'evaluate@*'); repeatable")
    p.add_argument("--scale-below", type=factor_arg, action="append", default=[], metavar="STAGE=FACTOR",
                   help="multiply the time of every stage downstream of STAGE (not STAGE itself); repeatable")
    p.add_argument("--cores", type=int, help="cores to replay with (default: the run's)")
    p.add_argument("--jobs", type=int, help="stages at a time (default: the run's)")
    p.add_argument("--timeline", action="store_true", help="print each stage's replayed start and end")
    args = p.parse_args(argv)
    if (args.cores is not None and args.cores < 1) or (args.jobs is not None and args.jobs < 1):
        p.error(f"--cores and --jobs must be >= 1 (got {args.cores} and {args.jobs})")
    rec = load(args.times)
    seconds = scaled(rec, args.scale, args.scale_below)
    cores = args.cores or rec.cores
    print(report(rec, seconds, replay(rec, seconds, cores, args.jobs), cores, args.timeline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
