"""Run one shard function over many shards: locally (inline or processes) or on Ray.

Every data stage is written as ``fn(shard, *args) -> result`` with a picklable, module-level
``fn``; the executor returns results in shard order, so the stage's output does not depend on
which executor ran it or how work was scheduled (a test checks Ray against local).

- ``local`` with ``workers: 1`` runs inline (no pool: cheapest for the small default);
  more workers use a spawn-based process pool (spawn, not fork: the stage process may already
  hold threads from torch or fastText). The pool is kept for the life of the process, as Ray
  keeps its workers: a stage runs several passes (dedup: signatures, URL partitions, bucket
  partitions, ...; mine: four per round), and a fresh spawn per pass would re-import the stage
  each time.
- ``ray`` calls ``ray.init`` with ``address=None`` (ray.init itself connects to ``RAY_ADDRESS``
  when set, else starts a local instance with ``workers`` CPUs, no dashboard, usage stats off
  and a capped object store). On a cluster, shard paths and the stages' work directories must
  be on storage every node sees.

Every call also reports the peak resident set size of the process that ran it
(``peak_rss_mb``), so a stage can say how much memory its workers needed (``PeakRss``). Each
pass shows a tqdm bar of finished calls on stderr, as the training loops do (refreshed at most
every 2 s, also when stderr is a log file rather than a terminal).
"""

from __future__ import annotations

import atexit
import os
import resource
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Callable, Iterable, Sequence

from tqdm import tqdm

from data_selection.config import ExecutorConfig


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux's ``VmHWM`` (the high-water mark of this program image) rather than ``ru_maxrss``:
    ``ru_maxrss`` survives ``exec``, so a spawned worker would report the RSS its parent had when
    it forked. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class PeakRss:
    """Largest peak RSS (MiB) of the processes that ran shard calls (inline: the stage itself)."""

    worker_mb: float = 0.0

    def observe(self, mb: float) -> None:
        self.worker_mb = max(self.worker_mb, mb)


def _measured(fn: Callable[..., Any], item: Any, args: tuple) -> tuple[Any, float]:
    result = fn(item, *args)
    return result, peak_rss_mb()


def _call(packed: tuple[Callable[..., Any], Any, tuple]) -> tuple[Any, float]:
    fn, item, args = packed
    return _measured(fn, item, args)


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    if workers not in _POOLS:
        _POOLS[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    return _POOLS[workers]


@atexit.register
def shutdown_pools() -> None:
    """Stop the kept local pools (at exit; tests may call it to start from fresh workers)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _progress(results: Iterable[Any], total: int, desc: str) -> list[Any]:
    """Drain ``results`` (produced in item order) behind a bar; the training loops' tqdm settings."""
    return list(tqdm(results, total=total, desc=desc, unit="task", mininterval=2))


def run_local(fn: Callable[..., Any], items: Sequence[Any], args: tuple, workers: int,
              desc: str = "") -> list[tuple[Any, float]]:
    """``[(fn(item, *args), peak MiB) for item in items]``, on up to ``workers`` processes, in order."""
    desc = desc or fn.__name__
    if workers == 1:
        return _progress((_measured(fn, item, args) for item in items), len(items), desc)
    pool = _pool(workers)
    try:
        # Executor.map yields in item order as results arrive, so the bar moves as calls finish.
        return _progress(pool.map(_call, [(fn, item, args) for item in items]), len(items), desc)
    except BrokenProcessPool:
        _POOLS.pop(workers, None)  # a worker died (e.g. killed for memory): the next call starts afresh
        raise


def _ensure_ray(cfg: ExecutorConfig) -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray  # imported lazily: Ray is an optional dependency (the `scale` extra)

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False)
        else:
            ray.init(num_cpus=cfg.workers, include_dashboard=False, log_to_driver=False,
                     object_store_memory=cfg.ray_object_store_mb * 1024 * 1024)
    return ray


def run_ray(fn: Callable[..., Any], items: Sequence[Any], args: tuple, cfg: ExecutorConfig,
            desc: str = "") -> list[tuple[Any, float]]:
    """The same calls as ``run_local``, as Ray tasks; results come back in item order."""
    ray = _ensure_ray(cfg)
    remote = ray.remote(_measured)
    # One copy of the shared arguments in the object store; Ray resolves a top-level ref
    # argument before the task runs, so each task sees the tuple itself.
    args_ref = ray.put(args)
    refs = [remote.remote(fn, item, args_ref) for item in items]
    return _progress((ray.get(ref) for ref in refs), len(refs), desc or fn.__name__)


def run_shards(fn: Callable[..., Any], items: Sequence[Any], args: tuple, cfg: ExecutorConfig,
               peak: PeakRss | None = None, desc: str = "") -> list[Any]:
    """Dispatch on ``cfg.kind``; ``fn`` must be a module-level function (it is pickled).

    ``peak``, when given, records the largest peak RSS among the processes that ran the calls;
    ``desc`` labels the progress bar (default: the function's name).
    """
    if not items:
        return []
    measured = (run_ray(fn, items, args, cfg, desc) if cfg.kind == "ray"
                else run_local(fn, items, args, cfg.workers, desc))
    if peak is not None:
        for _, mb in measured:
            peak.observe(mb)
    return [result for result, _ in measured]
