"""`python -m pipeline.repro`: `dvc repro` with independent stages side by side.

DVC runs one stage at a time in a workspace (iterative/dvc#755). On 2 cores that leaves a core
half idle through RL and evaluation: a second thread speeds a GRPO step up by 25% only, while two
10-step GRPO runs at 1 thread each, side by side, took 24.5 s against 39.0 s one after the other
at 2 threads (README, "Reference results"). This runner asks DVC for the DAG and for what is out
of date, then starts each stage that has to run as `dvc --wait-for-lock repro --single-item
<stage>` once its upstream stages are done, up to `--jobs` at a time, each with a share of the
cores (PIPELINE_THREADS, pipeline/stage.py). DVC itself still decides whether a stage runs,
restores it from the run cache, records it in dvc.lock and caches its outputs; it releases its
repository lock while a stage's command runs and guards each stage's inputs and outputs with its
read-write locks, which is what makes side-by-side `dvc repro` processes safe. The outputs are the
ones a plain `dvc repro` writes, bit for bit: on CPU, deterministic mode makes the thread count
change speed only (tests/pipeline/test_dvc_smoke.py compares every output's hash).

Stages whose command is `python -m pipeline.X` run forked from a preload server that imported
torch, transformers and the data libraries once (pipeline/preload.py; `--no-preload` to start
each fresh): 8 to 10 s of a core less per torch stage, the same outputs.

Each stage's output goes to `logs/repro/<stage>.log`; the terminal gets one line per start and
finish, and a table of stage times at the end, which also goes to `logs/repro/times.json` with
the DAG, for `python -m pipeline.replay` to ask what the run would take with some stages faster.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from pipeline.preload_client import ENV as PRELOAD_ENV
from pipeline.stage import THREADS_ENV


def stage_graph(upstream: dict[str, set[str]]) -> nx.DiGraph:
    """Every stage of a run, with an edge from each stage to each stage that waits for it."""
    graph = nx.DiGraph()
    graph.add_nodes_from(upstream)
    graph.add_edges_from((up, name) for name, ups in upstream.items() for up in ups)
    return graph


@dataclass
class Schedule:
    """Which stage starts next and with how many threads; no processes, so it is testable alone.

    `upstream[s]` holds the stages of this run that `s` waits for. A stage is ready when they are
    all done. Ready stages start in priority order: most stages downstream first (they unlock the
    most work), then dvc.yaml order. A batch of starts splits the free cores evenly, so a stage
    that is ready alone (SFT) gets every core and two ready stages get half each."""

    upstream: dict[str, set[str]]
    order: list[str]
    cores: int
    jobs: int
    running: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.cores < 1 or self.jobs < 1:
            raise ValueError(f"cores and jobs must be >= 1 (got cores={self.cores}, jobs={self.jobs})")
        unknown = {u for ups in self.upstream.values() for u in ups} - set(self.upstream)
        if unknown:
            raise ValueError(f"upstream stages not in the run: {sorted(unknown)}")
        graph = stage_graph(self.upstream)
        self._downstream = {name: nx.descendants(graph, name) for name in self.upstream}
        rank = {name: i for i, name in enumerate(self.order)}
        self._key = {name: (-len(self._downstream[name]), rank.get(name, len(rank)), name) for name in self.upstream}

    def ready(self) -> list[str]:
        settled = self.done | self.failed | self.blocked | set(self.running)
        waiting = [n for n in self.upstream if n not in settled and self.upstream[n] <= self.done]
        return sorted(waiting, key=self._key.__getitem__)

    def start_next(self) -> list[tuple[str, int]]:
        """The stages to start now, each with its thread count; marks them running."""
        free = self.cores - sum(self.running.values())
        ready = self.ready()
        n = min(len(ready), free, self.jobs - len(self.running))
        if n <= 0:
            return []
        starts = [(name, free // n + (1 if i < free % n else 0)) for i, name in enumerate(ready[:n])]
        self.running.update(starts)
        return starts

    def finish(self, name: str, ok: bool) -> None:
        self.running.pop(name)
        if ok:
            self.done.add(name)
        else:
            self.failed.add(name)
            self.blocked |= self._downstream[name]

    @property
    def over(self) -> bool:
        return not self.running and not self.ready()

    def not_run(self) -> list[str]:
        return [n for n in self.order if n in self.upstream and n not in self.done | self.failed]


def dvc_plan(targets: list[str], force: bool) -> tuple[dict[str, set[str]], list[str], dict[str, str]]:
    """From DVC: the stages to run (out of date ones and all below them, or every selected stage
    with `force`), each with the stages of the run it waits for; dvc.yaml's stage order; and the
    command of each stage to run."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        graph = repo.index.graph  # an edge goes from a stage to a stage it depends on
        order = [stage.addressing for stage in repo.index.stages]
        if targets:
            chosen = {stage for target in targets for stage in repo.stage.collect(target)}
        else:
            chosen = set(graph.nodes)
        selected = set(chosen)
        for stage in chosen:
            selected |= nx.descendants(graph, stage)
        selected = {s for s in selected if getattr(s, "cmd", None) and not s.frozen}
        names = {s.addressing: s for s in selected}
        if force:
            stale = set(names)
        else:
            changed = set(repo.status())
            stale = {n for n in names if n in changed}
            for name in list(stale):
                stale |= {s.addressing for s in nx.ancestors(graph, names[name]) if s.addressing in names}
        upstream = {n: {s.addressing for s in nx.descendants(graph, names[n]) if s.addressing in stale}
                    for n in stale}
        commands = {n: " ".join(c) if isinstance(c, list) else str(c) for n in stale for c in [names[n].cmd]}
    return upstream, order, commands


@dataclass
class Outcome:
    name: str
    threads: int
    seconds: float
    what: str  # ran | cached | up to date | failed


def what_dvc_did(log: str, code: int) -> str:
    if code != 0:
        return "failed"
    if "Running stage" in log:
        return "ran"
    if "is cached - skipping" in log:
        return "cached"
    return "up to date"


def say_now(line: str) -> None:
    print(line, flush=True)  # the start/finish lines must not wait in a pipe's buffer


def run(schedule: Schedule, force: bool, logs: Path, say=say_now, env: dict[str, str] | None = None) -> list[Outcome]:
    logs.mkdir(parents=True, exist_ok=True)
    procs: dict[str, tuple[subprocess.Popen, float, Path, object]] = {}
    outcomes: list[Outcome] = []
    start = time.monotonic()

    def stamp() -> str:
        return f"[{time.monotonic() - start:7.1f}s]"

    try:
        while True:
            for name, threads in schedule.start_next():
                log_path = logs / f"{name}.log"
                handle = log_path.open("w")
                cmd = [sys.executable, "-m", "dvc", "--wait-for-lock", "repro", "--single-item", name]
                if force:
                    cmd.append("--force")
                stage_env = {**os.environ, **(env or {}), THREADS_ENV: str(threads)}
                procs[name] = (subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=stage_env),
                               time.monotonic(), log_path, handle)
                say(f"{stamp()} start {name} ({threads} thread{'s' if threads > 1 else ''}), log: {log_path}")
            if schedule.over:
                break
            finished = [n for n, (p, *_) in procs.items() if p.poll() is not None]
            if not finished:
                time.sleep(0.2)
                continue
            for name in finished:
                proc, began, log_path, handle = procs.pop(name)
                handle.close()
                seconds = time.monotonic() - began
                text = log_path.read_text(errors="replace")
                outcome = Outcome(name, schedule.running[name], seconds, what_dvc_did(text, proc.returncode))
                outcomes.append(outcome)
                schedule.finish(name, proc.returncode == 0)
                say(f"{stamp()} {outcome.what:>10} {name} in {seconds:.1f} s")
                if proc.returncode != 0:
                    tail = "\n".join(text.splitlines()[-30:])
                    say(f"--- last lines of {log_path} ---\n{tail}\n---")
    except KeyboardInterrupt:
        for proc, *_ in procs.values():
            proc.terminate()
        for proc, *_ in procs.values():
            proc.wait()
        raise
    return outcomes


def start_preload(commands: Iterable[str], logs: Path, say=say_now) -> PreloadServer | None:
    """The preload server for this run's `python -m pipeline.X` stages (pipeline/preload.py), or
    None where it would not help or is untested: no such stage, or an NVIDIA device present."""
    if not any("-m pipeline." in cmd for cmd in commands):
        return None
    if not hasattr(os, "pidfd_open"):  # Linux 5.3 and later: the server waits on its stages' pidfds
        say("stages start as fresh processes: the preload server needs Linux (os.pidfd_open)")
        return None
    if glob.glob("/dev/nvidia[0-9]*"):
        say("stages start as fresh processes: the preload server is tested on CPU machines only")
        return None
    logs.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="pipeline-preload-")  # short: a socket path has at most 107 bytes
    path = os.path.join(folder, "socket")
    handle = (logs / "preload.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.preload", path], stdout=handle,
                            stderr=subprocess.STDOUT, env={k: v for k, v in os.environ.items() if k != PRELOAD_ENV})
    server = PreloadServer(proc, handle, folder, {PRELOAD_ENV: path})
    deadline = time.monotonic() + 30.0
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            say(f"no preload server (see {logs / 'preload.log'}): stages start as fresh processes")
            server.stop()
            return None
        time.sleep(0.05)
    say(f"preload server: stages fork from imported libraries, log: {logs / 'preload.log'}")
    return server


@dataclass
class PreloadServer:
    proc: subprocess.Popen
    handle: object
    folder: str
    env: dict[str, str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.handle.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def summary(outcomes: Iterable[Outcome], wall: float, not_run: list[str]) -> str:
    outcomes = list(outcomes)
    width = max([len(o.name) for o in outcomes] + [5])
    lines = [f"{'stage':<{width}}  threads  seconds  result"]
    lines += [f"{o.name:<{width}}  {o.threads:>7}  {o.seconds:>7.1f}  {o.what}" for o in outcomes]
    busy = sum(o.seconds for o in outcomes)
    lines.append(f"{len(outcomes)} stages in {wall / 60:.1f} min of wall time ({busy / 60:.1f} min of stage time)")
    if not_run:
        lines.append(f"not run (upstream failed): {', '.join(not_run)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.repro",
        description="`dvc repro` with independent stages side by side: each out-of-date stage runs as "
                    "`dvc repro --single-item STAGE` once its upstream stages are done, up to --jobs at a "
                    "time, sharing the cores. Same outputs as `dvc repro`. A failed stage stops the stages "
                    "below it; the others still run, and the exit code is 1.")
    p.add_argument("targets", nargs="*", help="stages or foreach groups, as `dvc repro` takes them, with the "
                   "stages they need (default: all)")
    p.add_argument("-j", "--jobs", type=int, default=2,
                   help="stages at a time (default 2; 1: one at a time, each with every core)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                   help="cores shared among running stages, as torch threads (default: this machine's)")
    p.add_argument("-f", "--force", action="store_true", help="run every selected stage even if up to date")
    p.add_argument("--dry", action="store_true", help="print what would run, in start order, and exit")
    p.add_argument("--logs", default="logs/repro", help="folder for each stage's log (default logs/repro)")
    p.add_argument("--no-preload", action="store_true",
                   help="start every stage as a fresh process, without the preload server that forks "
                        "`python -m pipeline.X` stages from imported libraries (pipeline/preload.py)")
    args = p.parse_args(argv)
    if args.jobs < 1 or args.cores < 1:
        p.error(f"--jobs and --cores must be >= 1 (got {args.jobs} and {args.cores})")
    if not Path("dvc.yaml").is_file():
        p.error("no dvc.yaml here: run from the repository root")

    from dvc.exceptions import DvcException

    try:
        upstream, order, commands = dvc_plan(args.targets, args.force)
    except DvcException as err:  # an unknown target, a broken dvc.yaml: DVC's own message, one line
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not upstream:
        print("Data and pipelines are up to date.")
        return 0
    if args.dry:
        dry = Schedule(upstream, order, cores=1, jobs=1)
        while not dry.over:
            (name, _), = dry.start_next()
            print(name)
            dry.finish(name, True)
        return 0
    schedule = Schedule(upstream, order, cores=args.cores, jobs=args.jobs)
    say_now(f"{len(upstream)} stages to run, up to {args.jobs} at a time on {args.cores} cores")
    began = time.monotonic()
    server = None if args.no_preload else start_preload(commands.values(), Path(args.logs))
    try:
        outcomes = run(schedule, args.force, Path(args.logs), env=server.env if server else None)
    except KeyboardInterrupt:
        print("interrupted: running stages stopped; training stages resume from their checkpoints")
        return 130
    finally:
        if server:
            server.stop()
    wall = time.monotonic() - began
    print(summary(outcomes, wall, schedule.not_run()))
    from inputs.jsonl import write_text_atomic
    from pipeline.replay import times_record

    times = Path(args.logs) / "times.json"
    record = times_record(outcomes, upstream, order, args.cores, args.jobs, wall)
    write_text_atomic(times, json.dumps(record, indent=1) + "\n")
    print(f"stage times: {times} (what-if: python -m pipeline.replay {times} --scale 'evaluate@*=0.5')")
    return 1 if schedule.failed else 0


if __name__ == "__main__":
    sys.exit(main())
