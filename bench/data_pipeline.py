"""The whole data pipeline (world -> dedup -> mine -> decontaminate stage commands) at 1x, 4x,
16x the default pool: prints seconds per 1000 pages, which should stay about flat, and the peak
RSS of the largest stage process so far (stages stream shards, so it should grow slowly).

  python bench/data_pipeline.py [--scales 1 4 16] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    "pipeline.world --web data/world/web.jsonl --seed-pages data/world/seed.jsonl --train data/world/train.jsonl "
    "--test data/world/test.jsonl --metrics metrics/world.json",
    "pipeline.dedup --pages data/world/web.jsonl --out data/dedup.jsonl --metrics metrics/dedup.json",
    "pipeline.mine --pool data/dedup.jsonl --seed-pages data/world/seed.jsonl --annotation annotations/math_paths.yaml "
    "--out data/mined.jsonl --metrics metrics/mine.json --rounds data/mine/rounds.json "
    "--proposals data/mine/proposals.json --plot reports/mining_rounds.png",
    "pipeline.decontaminate --params params.yaml --corpus data/mined.jsonl --benchmark data/world/test.jsonl "
    "--output data/corpus.jsonl --report data/decontamination.json --metrics metrics/decontaminate.json",
]


def run_scale(scale: int, params: dict, work: Path) -> tuple[int, float]:
    p = yaml.safe_load(yaml.safe_dump(params))
    p["world"]["web"]["n_domains"] *= scale
    p["mine"]["top_tokens"] *= scale  # the cut follows the math mass of the bigger world
    (work / "annotations").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "annotations" / "math_paths.yaml", work / "annotations")
    (work / "params.yaml").write_text(yaml.safe_dump(p))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    for stage in STAGES:
        subprocess.run([sys.executable, "-m", *stage.split()], cwd=work, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - t0
    pages = sum(1 for _ in (work / "data" / "world" / "web.jsonl").open())
    return pages, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = ap.parse_args()
    params = yaml.safe_load(Path(args.params).read_text())
    base = None
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            pages, elapsed = run_scale(scale, params, Path(tmp))
        per_k = 1000 * elapsed / pages
        base = base or per_k
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # max over finished stages
        print(f"scale={scale}x pages={pages:,} time={elapsed:.1f}s per_1000_pages={per_k:.2f}s "
              f"ratio_to_{args.scales[0]}x={per_k / base:.2f} peak_stage_rss={peak:.0f} MiB")


if __name__ == "__main__":
    main()
