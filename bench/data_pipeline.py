"""The whole data pipeline (world -> dedup -> mine -> decontaminate stage commands) at 1x, 4x,
16x, 64x the default pool, on the local executor (2 worker processes) and on Ray (2 CPUs).

Prints per scale: pages, seconds per 1000 pages (whole pipeline; should stay about flat), and
the peak RSS of every process kind:
- dedup and mine report their own driver's and their shard workers' peaks (``--rss-report``:
  each shard call returns its process's high-water mark, VmHWM);
- world and decontaminate are measured from outside (``wait4``: the stage process and the
  children it waited for).
Then the ratio of the largest scale to the one before it (64x/16x by default) per column: the
stages keep per-page state on disk or in workers, so it should stay at or below 1.25. The world
stage is the exception, reported but not bounded: it generates the synthetic input and holds the
pool for its seeded shuffle; a real crawl enters through `ingest`, which streams.

  python bench/data_pipeline.py [--scales 1 4 16 64] [--executor local ray] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = {
    "world": "pipeline.world --web data/world/web.jsonl --seed-pages data/world/seed.jsonl "
             "--train data/world/train.jsonl --test data/world/test.jsonl --metrics metrics/world.json",
    "dedup": "pipeline.dedup --pages data/world/web.jsonl --out data/dedup.jsonl --metrics metrics/dedup.json "
             "--rss-report rss/dedup.json",
    "mine": "pipeline.mine --pool data/dedup.jsonl --seed-pages data/world/seed.jsonl "
            "--annotation annotations/math_paths.yaml --out data/mined.jsonl --metrics metrics/mine.json "
            "--rounds data/mine/rounds.json --proposals data/mine/proposals.json --plot reports/mining_rounds.png "
            "--rss-report rss/mine.json",
    "decontaminate": "pipeline.decontaminate --params params.yaml --corpus data/mined.jsonl "
                     "--benchmark data/world/test.jsonl --output data/corpus.jsonl "
                     "--report data/decontamination.json --metrics metrics/decontaminate.json",
}
# The real benchmarks as the pipeline passes them, when ../shared/data is there (their index is
# a constant cost: it must not change how memory grows with the pool).
SHARED = ROOT.parent / "shared" / "data"
REAL_BENCHMARKS = [SHARED / name / "test.jsonl" for name in ("gsm8k", "math", "math500")]
COLUMNS = ["world", "dedup driver", "dedup workers", "mine driver", "mine workers", "decontaminate"]
# world generates the synthetic input (its seeded shuffle needs the whole pool in memory); a real
# crawl enters through `ingest`, which streams. The 1.25 bound is checked on the other columns.
GENERATOR = {"world"}


def _run_stage(cmd: str, cwd: Path, env: dict) -> tuple[float, float]:
    """(seconds, peak RSS MiB of the stage process and the children it waited for)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", *cmd.split()], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{cmd.split()[0]} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def run_scale(scale: int, params: dict, executor: str, workers: int, work: Path) -> dict:
    p = yaml.safe_load(yaml.safe_dump(params))
    p["world"]["web"]["n_domains"] *= scale
    p["mine"]["top_tokens"] *= scale  # the cut follows the math mass of the bigger world
    p["executor"].update(kind=executor, workers=workers)
    (work / "annotations").mkdir(parents=True, exist_ok=True)
    (work / "rss").mkdir()
    shutil.copy(ROOT / "annotations" / "math_paths.yaml", work / "annotations")
    (work / "params.yaml").write_text(yaml.safe_dump(p))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    row: dict = {"scale": scale, "seconds": 0.0}
    for name, cmd in STAGES.items():
        if name == "decontaminate" and all(p.is_file() for p in REAL_BENCHMARKS):
            cmd += "".join(f" --benchmark {p}" for p in REAL_BENCHMARKS)
        seconds, tree_mb = _run_stage(cmd, work, env)
        row["seconds"] += seconds
        row[f"{name} s"] = seconds
        report = work / "rss" / f"{name}.json"
        if report.exists():
            rss = json.loads(report.read_text())
            row[f"{name} driver"], row[f"{name} workers"] = rss["driver_mb"], rss["worker_mb"]
        else:
            row[name] = tree_mb
    row["pages"] = sum(1 for _ in (work / "data" / "world" / "web.jsonl").open())
    return row


def print_table(executor: str, rows: list[dict]) -> None:
    print(f"\nexecutor={executor}: peak RSS MiB per process kind")
    head = f"{'scale':>5} {'pages':>8} {'s/1k pages':>10} " + " ".join(f"{c:>14}" for c in COLUMNS)
    print(head)
    for r in rows:
        print(f"{r['scale']:>4}x {r['pages']:>8,} {1000 * r['seconds'] / r['pages']:>10.2f} "
              + " ".join(f"{r[c]:>14.0f}" for c in COLUMNS))
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        ratios = [b[c] / a[c] for c in COLUMNS]
        print(f"{b['scale']}x/{a['scale']}x{'':>15}{(b['seconds'] / b['pages']) / (a['seconds'] / a['pages']):>10.2f} "
              + " ".join(f"{x:>13.2f}{'*' if c in GENERATOR else '!' if x > 1.25 else ' '}"
                         for c, x in zip(COLUMNS, ratios)))
        worst = max(x for c, x in zip(COLUMNS, ratios) if c not in GENERATOR)
        print(f"largest ratio of a pipeline process: {worst:.2f} ({'within' if worst <= 1.25 else 'ABOVE'} 1.25); "
              "* world generates the synthetic input in memory (a real crawl enters through ingest, which streams)")
    print("stage seconds: " + "; ".join(
        f"{r['scale']}x " + " ".join(f"{n}={r[f'{n} s']:.0f}" for n in STAGES) for r in rows))
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--executor", nargs="+", choices=["local", "ray"], default=["local", "ray"])
    ap.add_argument("--workers", type=int, default=2, help="local worker processes / Ray CPUs")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = ap.parse_args()
    params = yaml.safe_load(Path(args.params).read_text())
    for executor in args.executor:
        rows = []
        for scale in args.scales:
            with tempfile.TemporaryDirectory(prefix=f"bench-{executor}-{scale}x-") as tmp:
                rows.append(run_scale(scale, params, executor, args.workers, Path(tmp)))
            print(f"  {executor} {scale}x done in {rows[-1]['seconds']:.0f}s", file=sys.stderr, flush=True)
        print_table(executor, rows)


if __name__ == "__main__":
    main()
