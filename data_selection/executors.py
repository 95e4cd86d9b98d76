"""Run one shard function over many shards: locally (inline or processes) or on Ray.

Every data stage is written as ``fn(shard, *args) -> result`` with a picklable, module-level
``fn``; the executor returns results in shard order, so the stage's output does not depend on
which executor ran it or how work was scheduled (a test checks Ray against local).

- ``local`` with ``workers: 1`` runs inline (no pool: cheapest for the small default);
  more workers use a spawn-based process pool (spawn, not fork: the stage process may already
  hold threads from torch or fastText).
- ``ray`` calls ``ray.init`` with ``address=None`` (ray.init itself connects to ``RAY_ADDRESS``
  when set, else starts a local instance with ``workers`` CPUs, no dashboard, usage stats off
  and a capped object store). On a cluster, shard paths must be on storage every node sees.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable, Sequence

from data_selection.config import ExecutorConfig


def _call(packed: tuple[Callable[..., Any], Any, tuple]) -> Any:
    fn, item, args = packed
    return fn(item, *args)


def run_local(fn: Callable[..., Any], items: Sequence[Any], args: tuple, workers: int) -> list[Any]:
    """``[fn(item, *args) for item in items]``, on up to ``workers`` processes, in order."""
    if workers == 1 or len(items) <= 1:
        return [fn(item, *args) for item in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn")) as pool:
        return list(pool.map(_call, [(fn, item, args) for item in items]))


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


def _call_unpacked(fn: Callable[..., Any], item: Any, args: tuple) -> Any:
    return fn(item, *args)


def run_ray(fn: Callable[..., Any], items: Sequence[Any], args: tuple, cfg: ExecutorConfig) -> list[Any]:
    """The same calls as ``run_local``, as Ray tasks; results come back in item order."""
    ray = _ensure_ray(cfg)
    remote = ray.remote(_call_unpacked)
    # One copy of the shared arguments in the object store; Ray resolves a top-level ref
    # argument before the task runs, so each task sees the tuple itself.
    args_ref = ray.put(args)
    return ray.get([remote.remote(fn, item, args_ref) for item in items])


def run_shards(fn: Callable[..., Any], items: Sequence[Any], args: tuple, cfg: ExecutorConfig) -> list[Any]:
    """Dispatch on ``cfg.kind``; ``fn`` must be a module-level function (it is pickled)."""
    if cfg.kind == "ray":
        return run_ray(fn, items, args, cfg)
    return run_local(fn, items, args, cfg.workers)
