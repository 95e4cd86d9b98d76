"""Worker processes that run math-verify with a hard per-item wall-clock timeout.

Why processes: math-verify's own timeouts use `signal.alarm`, which only works in a main thread
and cannot interrupt long C-level work (a huge integer power). Each worker is a separate Python
process (`python -m evaluation.verify_worker`) fed one (pred, gold) pair at a time as a JSON
line; the parent waits at most `timeout` seconds for the answer line, then kills the worker,
records the item as `timeout` (graded wrong) and starts a fresh one. A worker that dies
(segfault, out of memory) is replaced the same way and its item recorded as `worker_died`.

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
from multiprocessing.connection import wait

TIMEOUT = "timeout"
WORKER_DIED = "worker_died"
STARTUP_LIMIT = 60.0  # seconds a fresh worker may take to import math-verify


class _Worker:
    def __init__(self, seconds: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evaluation.verify_worker", str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self.ready = False  # set once the worker has imported math-verify and said so
        self.started = time.monotonic()

    def mark_ready(self) -> None:
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("grading worker failed to start (python -m evaluation.verify_worker)")
        self.ready = True

    def send(self, pred: str, gold: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"pred": pred, "gold": gold}) + "\n")
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


class GradingPool:
    """`workers` math-verify processes; `map` grades pairs in order with a hard timeout each."""

    def __init__(self, workers: int = 2, timeout: float = 5.0) -> None:
        if workers < 1:
            raise ValueError(f"workers: must be >= 1, got {workers}")
        if timeout <= 0:
            raise ValueError(f"timeout: must be > 0, got {timeout}")
        self.timeout = timeout
        # math-verify's alarm takes whole seconds: just under the hard limit when possible.
        self._inner = max(1, int(timeout) - 1)
        self._workers = [_Worker(self._inner) for _ in range(workers)]
        self.n_timeouts = 0
        self.n_died = 0

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers[self._workers.index(worker)] = _Worker(self._inner)

    def map(self, pairs: list[tuple[str, str]]) -> list[tuple[bool, str | None]]:
        """(equivalent, error) for every (pred, gold) pair, in input order."""
        results: list[tuple[bool, str | None]] = [(False, None)] * len(pairs)
        todo = deque(range(len(pairs)))
        busy: dict[_Worker, tuple[int, float]] = {}  # worker -> (item, deadline)
        while todo or busy:
            self._dispatch(pairs, todo, busy)
            waiting = {w.process.stdout: w for w in self._workers if w in busy or not w.ready}
            deadlines = [deadline for _, deadline in busy.values()]
            limit = min(deadlines) - time.monotonic() if deadlines else STARTUP_LIMIT
            for stream in wait(list(waiting), timeout=max(0.0, limit)):
                worker = waiting[stream]
                if worker.ready:
                    self._collect(worker, busy, results)
                else:
                    worker.mark_ready()
            self._expire(busy, results)
            starting = [w for w in self._workers if not w.ready]
            if not busy and len(starting) == len(self._workers) and all(
                time.monotonic() - w.started > STARTUP_LIMIT for w in starting
            ):
                raise RuntimeError(f"no grading worker started within {STARTUP_LIMIT} s")
        return results

    def _dispatch(self, pairs: list[tuple[str, str]], todo: deque, busy: dict) -> None:
        # The clock starts at dispatch to a worker that is ready, so start-up never counts.
        for worker in list(self._workers):
            if not todo or not worker.ready or worker in busy:
                continue
            index = todo.popleft()
            try:
                worker.send(*pairs[index])
            except OSError:  # died while idle: replace it and retry the item
                todo.appendleft(index)
                self._replace(worker)
                continue
            busy[worker] = (index, time.monotonic() + self.timeout)

    def _collect(self, worker: _Worker, busy: dict, results: list) -> None:
        index, _ = busy.pop(worker)
        try:
            results[index] = worker.receive()
        except (EOFError, OSError, ValueError):
            results[index] = (False, WORKER_DIED)
            self.n_died += 1
            self._replace(worker)

    def _expire(self, busy: dict, results: list) -> None:
        now = time.monotonic()
        for worker, (index, deadline) in list(busy.items()):
            if now >= deadline:
                results[index] = (False, TIMEOUT)
                self.n_timeouts += 1
                del busy[worker]
                self._replace(worker)

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


@atexit.register
def _close_shared() -> None:
    for pool in _SHARED.values():
        pool.close()
    _SHARED.clear()
