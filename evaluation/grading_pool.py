"""Worker processes that run math-verify with a hard per-item wall-clock timeout.

Why processes: an alarm (`signal`) only works in a main thread and cannot interrupt long C-level
work (a huge integer power). Each worker is a separate Python process
(`python -m evaluation.verify_worker`) fed one (pred, gold) pair at a time as a JSON line, with
its own alarm set just under the item's budget; the parent waits at most `timeout` seconds for
the answer line. When the alarm rings (the worker answers "timeout") or the parent's deadline
passes (it kills the worker), the item has timed out: the parent starts a fresh worker and gives the item ONE retry on a fresh worker with `retry_factor` times the
budget (a busy machine can make a harmless item miss its first deadline); an item that times
out again is recorded as `timeout` and graded wrong. Each item thus costs at most
(1 + retry_factor) x timeout of worker time. A worker that dies (segfault, out of memory) is
replaced the same way and its item recorded as `worker_died`, without a retry. `PoolStats`
counts timeouts, retries and retry successes per pool; `shared_stats` sums the shared pools,
so a caller reports a run's counts as the difference of two snapshots.

Plain subprocesses rather than multiprocessing: they inherit no threads, torch state or
`__main__` module from the parent (a forkserver child re-imports the parent's main script), and
they start in about 0.4 s.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, fields
from multiprocessing.connection import wait

from evaluation.verify_worker import TIMEOUT

WORKER_DIED = "worker_died"
STARTUP_LIMIT = 60.0  # seconds a fresh worker may take to import math-verify
RETRY_FACTOR = 3.0  # a timed-out item's one retry gets this many times the budget


@dataclass
class PoolStats:
    """Counts since a pool started. `timeouts`: items graded wrong because their retry timed out
    too; `retries`: items retried after a first timeout; `retry_successes`: retries answered
    in time (their verdict stands); `worker_deaths`: items whose worker died."""

    timeouts: int = 0
    retries: int = 0
    retry_successes: int = 0
    worker_deaths: int = 0

    def __add__(self, other: PoolStats) -> PoolStats:
        return PoolStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: PoolStats) -> PoolStats:
        return PoolStats(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _alarm_seconds(budget: float) -> float:
    # The worker's own alarm rings first (its answer is cheaper than a kill), the kill is the
    # backstop: a second under a budget of seconds, a fifth under a short one.
    return max(0.8 * budget, budget - 1.0)


class _Worker:
    def __init__(self, seconds: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evaluation.verify_worker", str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self.ready = False  # set once the worker has imported math-verify and said so
        self.used = False  # a retry goes only to a worker that has graded nothing yet
        self.started = time.monotonic()

    def mark_ready(self) -> None:
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("grading worker failed to start (python -m evaluation.verify_worker)")
        self.ready = True

    def send(self, preds: list[str], gold: str, seconds: float) -> None:
        assert self.process.stdin is not None
        self.used = True
        self.process.stdin.write(json.dumps({"preds": preds, "gold": gold, "seconds": seconds}) + "\n")
        self.process.stdin.flush()

    def receive(self) -> tuple[bool, str | None]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise EOFError("worker exited")
        answer = json.loads(line)
        return bool(answer["ok"]), answer["error"]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


Pair = tuple[str | list[str] | tuple[str, ...], str]  # (prediction or its readings, gold)


class GradingPool:
    """`workers` math-verify processes; `map` grades pairs in order with a hard timeout each,
    and one retry with `retry_factor` times the timeout for an item that timed out."""

    def __init__(self, workers: int = 2, timeout: float = 5.0, retry_factor: float = RETRY_FACTOR) -> None:
        if workers < 1:
            raise ValueError(f"workers: must be >= 1, got {workers}")
        if timeout <= 0:
            raise ValueError(f"timeout: must be > 0, got {timeout}")
        if retry_factor < 0:
            raise ValueError(f"retry_factor: must be >= 0 (0: no retry), got {retry_factor}")
        self.timeout = timeout
        self.retry_factor = retry_factor
        self._inner = _alarm_seconds(timeout)
        self._workers = [_Worker(self._inner) for _ in range(workers)]
        self.stats = PoolStats()

    @property
    def n_timeouts(self) -> int:
        return self.stats.timeouts

    @property
    def n_died(self) -> int:
        return self.stats.worker_deaths

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers[self._workers.index(worker)] = _Worker(self._inner)

    def map(self, pairs: list[Pair]) -> list[tuple[bool, str | None]]:
        """(equivalent, error) for every (pred, gold) pair, in input order; `pred` may be a
        list of readings of one prediction, equivalent when any of them is."""
        tasks = [([p] if isinstance(p, str) else list(p), g) for p, g in pairs]
        results: list[tuple[bool, str | None]] = [(False, None)] * len(pairs)
        todo = deque(range(len(pairs)))
        retry: deque[int] = deque()
        busy: dict[_Worker, tuple[int, float, bool]] = {}  # worker -> (item, deadline, is retry)
        while todo or retry or busy:
            self._dispatch(tasks, todo, retry, busy)
            waiting = {w.process.stdout: w for w in self._workers if w in busy or not w.ready}
            deadlines = [deadline for _, deadline, _ in busy.values()]
            limit = min(deadlines) - time.monotonic() if deadlines else STARTUP_LIMIT
            for stream in wait(list(waiting), timeout=max(0.0, limit)):
                worker = waiting[stream]
                if worker.ready:
                    self._collect(worker, busy, results, retry)
                else:
                    worker.mark_ready()
            self._expire(busy, results, retry)
            starting = [w for w in self._workers if not w.ready]
            if not busy and len(starting) == len(self._workers) and all(
                time.monotonic() - w.started > STARTUP_LIMIT for w in starting
            ):
                raise RuntimeError(f"no grading worker started within {STARTUP_LIMIT} s")
        return results

    def _dispatch(self, tasks: list[tuple[list[str], str]], todo: deque, retry: deque, busy: dict) -> None:
        # The clock starts at dispatch to a worker that is ready, so start-up never counts.
        # Retries go first, and only to fresh workers: each timeout starts one, so none waits long.
        for worker in list(self._workers):
            if not worker.ready or worker in busy:
                continue
            is_retry = bool(retry) and not worker.used
            if not is_retry and not todo:
                continue
            index = (retry if is_retry else todo).popleft()
            budget = self.timeout * (self.retry_factor if is_retry else 1.0)
            try:
                worker.send(*tasks[index], _alarm_seconds(budget))
            except OSError:  # died while idle: replace it and send the item again
                (retry if is_retry else todo).appendleft(index)
                self._replace(worker)
                continue
            busy[worker] = (index, time.monotonic() + budget, is_retry)

    def _collect(self, worker: _Worker, busy: dict, results: list, retry: deque) -> None:
        index, _, is_retry = busy.pop(worker)
        try:
            answer = worker.receive()
        except (EOFError, OSError, ValueError):
            results[index] = (False, WORKER_DIED)
            self.stats.worker_deaths += 1
            self._replace(worker)
            return
        if answer[1] == TIMEOUT:  # the worker's own alarm rang
            self._timed_out(worker, index, is_retry, results, retry)
            return
        results[index] = answer
        self.stats.retry_successes += is_retry

    def _expire(self, busy: dict, results: list, retry: deque) -> None:
        now = time.monotonic()
        for worker, (index, deadline, is_retry) in list(busy.items()):
            if now >= deadline:
                del busy[worker]
                self._timed_out(worker, index, is_retry, results, retry)

    def _timed_out(self, worker: _Worker, index: int, is_retry: bool, results: list, retry: deque) -> None:
        # A fresh worker either way: one the alarm interrupted may hold half-updated caches, and
        # each queued retry must find a worker that has graded nothing yet.
        self._replace(worker)
        if is_retry or self.retry_factor == 0:
            results[index] = (False, TIMEOUT)
            self.stats.timeouts += 1
        else:
            retry.append(index)
            self.stats.retries += 1

    def close(self) -> None:
        for worker in self._workers:
            if worker.process.stdin is not None:
                try:
                    worker.process.stdin.close()  # EOF: the worker's loop ends
                except OSError:
                    pass
            try:
                worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._workers = []


_SHARED: dict[tuple[int, float], GradingPool] = {}


def shared_pool(workers: int = 2, timeout: float = 5.0) -> GradingPool:
    """One pool per (workers, timeout) per process, started on first use, closed at exit."""
    key = (workers, timeout)
    if key not in _SHARED:
        _SHARED[key] = GradingPool(workers, timeout)
    return _SHARED[key]


def shared_stats() -> PoolStats:
    """Counts of all shared pools of this process so far (zeros when none has started)."""
    total = PoolStats()
    for pool in _SHARED.values():
        total = total + pool.stats
    return total


@atexit.register
def _close_shared() -> None:
    for pool in _SHARED.values():
        pool.close()
    _SHARED.clear()
