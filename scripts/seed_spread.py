"""How much of an RL finding is the run's seed (reports/seed_spread.md): rerun a GRPO stage from
the same SFT model with other values of `seed`, evaluate every run on the synthetic test set with
the pipeline's own evaluation settings (its seed included, so only training differs), and set the
spread beside the pipeline's reference run and the evaluation's 2 standard errors.

Needs the default pipeline's outputs, current (`dvc status` clean): `models/sft`,
`metrics/eval/*.json`, and the reward models for the model-reward methods. Every run is the real
stage (`python -m pipeline.grpo`, then `python -m pipeline.evaluate`) on a copy of params.yaml;
outputs go under --work, where a finished run with the same params and the same SFT model is
reused. With --jobs 2 two runs share the cores at 1 thread each (the same results as 2 threads:
README, "Reference results"). Usage:

    python scripts/seed_spread.py --work /tmp/spread --method grpo_outcome online_rft --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from stage_runs import ROOT, run, with_overrides, write_with_notes

sys.path.insert(0, str(ROOT))
from evaluation.spread import headline_keys, markdown  # noqa: E402

# method: (the pipeline's model name, the stage's extra inputs), as dvc.yaml runs it.
METHODS: dict[str, tuple[str, list[str]]] = {
    "grpo_outcome": ("grpo-outcome", []),
    "online_rft": ("grpo-online-rft", []),
    "grpo_outcome_orm": ("grpo-outcome-orm", ["--reward-model", "models/rm/orm"]),
    "grpo_process": ("grpo-process", ["--reward-model", "models/rm/prm"]),
    "grpo_process_prime": ("grpo-process-prime", ["--reward-model", "models/rm/prm"]),
    "grpo_process_min": ("grpo-process-min", ["--reward-model", "models/rm/prm"]),
    "grpo_iterative": ("grpo-iterative", ["--reward-model", "models/rm/prm", "--rm-data", "data/rm/prm/train.jsonl",
                                          "--rm-heldout", "data/rm/prm/heldout.jsonl"]),
}


def synthetic_metrics(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run the pipeline first (python -m pipeline.repro)")
    return json.loads(path.read_text())["synthetic"]


def sft_digest() -> str:
    h = hashlib.sha256()
    for f in sorted((ROOT / "models/sft").rglob("*")):
        if f.is_file():
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def one(method: str, seed: int, base: dict, work: Path, threads: int | None) -> dict:
    """Train `method` with `seed`, evaluate it with the base params' evaluation; its synthetic metrics."""
    d = work / f"{method}-seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    train_params, eval_params = d / "params.yaml", d / "eval_params.yaml"
    # The params and the SFT model it starts from: what a finished run in `d` must match to be reused.
    train_text = yaml.safe_dump(with_overrides(base, {"seed": seed}), sort_keys=False)
    train_text += f"# models/sft: {sft_digest()}\n"
    done = d / "row.json"  # written last: present only for a finished run
    if done.is_file() and train_params.is_file() and train_params.read_text() == train_text:
        print(f"seed_spread: {method} seed {seed}: reused {d}", flush=True)
        return json.loads(done.read_text())
    done.unlink(missing_ok=True)
    train_params.write_text(train_text)
    ev = with_overrides(base, {})
    # Only the synthetic set: its figures do not depend on the other benchmarks (each generate
    # call is seeded on its own), and the path checks are not what this measures.
    ev["evaluate"]["benchmarks"] = [b for b in ev["evaluate"]["benchmarks"] if b["name"] == "synthetic"]
    eval_params.write_text(yaml.safe_dump(ev, sort_keys=False))
    _, extra = METHODS[method]
    t0 = time.perf_counter()
    run([sys.executable, "-m", "pipeline.grpo", "--params", str(train_params), "--method", method, *extra,
         "--train", "data/problems/rl.jsonl", "--init", "models/sft", "--out", str(d / "model"),
         "--live", str(d / "live"), "--metrics", str(d / "grpo.json"), "--checkpoints", str(d / "ckpt")],
        d / "grpo.log", threads)
    seconds = time.perf_counter() - t0
    run([sys.executable, "-m", "pipeline.evaluate", "--params", str(eval_params), "--model", str(d / "model"),
         "--name", f"{method}-seed{seed}", "--benchmark", "synthetic", "data/world/test.jsonl",
         "--samples", str(d / "samples.jsonl"), "--metrics", str(d / "eval.json"), "--headline", str(d / "headline.json"),
         "--timing", str(d / "timing.json"), "--curves", str(d / "curves")], d / "eval.log", threads)
    m = synthetic_metrics(d / "eval.json")
    print(f"seed_spread: {method} seed {seed}: top1 {m['top1']:.3f} ({seconds:.0f} s training)", flush=True)
    row = {k: m[k] for k in headline_keys(m)} | {"n_problems": m["n_problems"], "train_seconds": round(seconds, 1)}
    done.write_text(json.dumps(row))
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="directory for the runs' outputs")
    p.add_argument("--method", nargs="+", default=["grpo_outcome", "online_rft"], choices=sorted(METHODS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds besides the pipeline's own")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side (1 thread each when > 1)")
    p.add_argument("--out", default="reports/seed_spread.json", help="results (JSON; merged with earlier runs)")
    p.add_argument("--markdown", default="reports/seed_spread.md", help="the tables")
    args = p.parse_args()
    if args.jobs < 1:
        p.error("--jobs: at least 1")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    ref_seed = base["seed"]
    if ref_seed in args.seeds:
        p.error(f"--seeds: {ref_seed} is params.yaml's seed, whose run is the pipeline's own (metrics/eval)")
    work = Path(args.work).resolve()
    out = ROOT / args.out
    results = json.loads(out.read_text()) if out.is_file() else {"runs": {}}
    sft = synthetic_metrics(ROOT / "metrics/eval/sft.json")
    results["sft"] = {k: sft[k] for k in headline_keys(sft)} | {"n_problems": sft["n_problems"]}
    results["reference_seed"] = ref_seed
    threads = 1 if args.jobs > 1 else None
    jobs = [(m, s) for m in args.method for s in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda job: (job, one(*job, base, work, threads)), jobs))
    for (method, seed), row in done:
        results["runs"].setdefault(method, {})[str(seed)] = row
    for method in args.method:
        ref = synthetic_metrics(ROOT / f"metrics/eval/{METHODS[method][0]}.json")
        results["runs"][method][str(ref_seed)] = {k: ref[k] for k in headline_keys(ref)} | {"n_problems": ref["n_problems"]}
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    tables = [markdown(method, {int(s): r for s, r in runs.items()}, results["sft"], ref_seed)
              for method, runs in sorted(results["runs"].items())]
    intro = ("# Spread of the RL results over training seeds\n\n"
             "Written by `python scripts/seed_spread.py` on the embedded default. Each run is the real "
             "`pipeline.grpo` stage from `models/sft` with `seed` set to the row's value (the questions of every "
             "step and the samples drawn for them), evaluated by `pipeline.evaluate` on the synthetic test set with "
             f"the pipeline's own evaluation settings and seed ({results['sft']['n_problems']} problems, "
             "percentages). The reference row is the pipeline's run (`metrics/eval`). '2 SE of a difference' is "
             "the evaluation's noise alone (evaluation/findings.py, at the mean and SFT, over problems); for "
             "sample_acc it is an upper bound, since a problem's share of correct samples varies no more than "
             "one 0/1 grade of the same mean. The standard deviation over seeds is the training run's own.\n\n")
    write_with_notes(ROOT / args.markdown, intro + "\n".join(tables))
    print("\n".join(tables))


if __name__ == "__main__":
    main()
