"""How much of an RL finding is the run's seed (reports/seed_spread.md): rerun a GRPO stage from
the same SFT model with other values of `seed`, evaluate every run on the synthetic test set with
the pipeline's own evaluation settings (its seed included, so only training differs), and set the
spread beside the pipeline's reference run and the evaluation's 2 standard errors.

Needs the default pipeline's outputs, current (`dvc status` clean): `models/sft`,
`metrics/eval/*.json`, and the reward models for the model-reward methods. Every run is the real
stage (`python -m pipeline.grpo`, then `python -m pipeline.evaluate`) on a copy of params.yaml;
outputs go under --work, where a finished run with the same params and the same starting model
is reused. `--sft DIR` starts from another SFT model (e.g. one trained with other params), to see
whether a change to SFT moves the RL results by more than the seed does (the model-reward methods
keep the pipeline's reward models). With --jobs 2 two runs share the cores at 1 thread each (the
same results as 2 threads: README, "Reference results"). Usage:

    python scripts/seed_spread.py --work /tmp/spread --method grpo_outcome online_rft --seeds 1 2 3
    python scripts/seed_spread.py --work /tmp/spread-packed --sft /tmp/packed-sft --seeds 0 1 2 \\
        --out reports/seed_spread_packed.json --markdown reports/seed_spread_packed.md
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

from evaluation.spread import headline_keys, markdown  # stage_runs put the project root on sys.path
from inputs.jsonl import write_text_atomic

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


def figures(m: dict) -> dict:
    """The headline figures of a benchmark's metrics, and its problem count for the 2 SE."""
    return {k: m[k] for k in headline_keys(m)} | {"n_problems": m["n_problems"]}


def digest(model: Path) -> str:
    """A short hash of a model directory's files: a finished run is reused only from the same model."""
    h = hashlib.sha256()
    for f in sorted(model.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(model).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def eval_params(base: dict) -> str:
    ev = with_overrides(base, {})
    # Only the synthetic set: its figures do not depend on the other benchmarks (each generate
    # call is seeded on its own), and the path checks are not what this measures.
    ev["evaluate"]["benchmarks"] = [b for b in ev["evaluate"]["benchmarks"] if b["name"] == "synthetic"]
    return yaml.safe_dump(ev, sort_keys=False)


def evaluate(model: Path, name: str, d: Path, params: Path, threads: int | None) -> dict:
    run([sys.executable, "-m", "pipeline.evaluate", "--params", str(params), "--model", str(model), "--name", name,
         "--benchmark", "synthetic", "data/world/test.jsonl", "--samples", str(d / "samples.jsonl"),
         "--metrics", str(d / "eval.json"), "--headline", str(d / "headline.json"), "--timing", str(d / "timing.json"),
         "--curves", str(d / "curves")], d / "eval.log", threads)
    return figures(synthetic_metrics(d / "eval.json"))


def cached(d: Path, key: str) -> dict | None:
    """The finished result in `d` if it was made from the same `key` (params and model); else None,
    and `d` is marked unfinished."""
    d.mkdir(parents=True, exist_ok=True)
    done, stamp = d / "row.json", d / "params.yaml"  # row.json is written last
    if done.is_file() and stamp.is_file() and stamp.read_text() == key:
        print(f"seed_spread: reused {d}", flush=True)
        return json.loads(done.read_text())
    done.unlink(missing_ok=True)
    stamp.write_text(key)
    return None


def one(method: str, seed: int, base: dict, sft: Path, sft_digest: str, work: Path, threads: int | None) -> dict:
    """Train `method` with `seed` from `sft`, evaluate it with the base params' evaluation."""
    d = work / f"{method}-seed{seed}"
    train_params = d / "params.yaml"
    key = yaml.safe_dump(with_overrides(base, {"seed": seed}), sort_keys=False) + f"# init: {sft_digest}\n"
    if (row := cached(d, key)) is not None:
        return row
    (d / "eval_params.yaml").write_text(eval_params(base))
    _, extra = METHODS[method]
    t0 = time.perf_counter()
    run([sys.executable, "-m", "pipeline.grpo", "--params", str(train_params), "--method", method, *extra,
         "--train", "data/problems/rl.jsonl", "--init", str(sft), "--out", str(d / "model"),
         "--live", str(d / "live"), "--metrics", str(d / "grpo.json"), "--checkpoints", str(d / "ckpt")],
        d / "grpo.log", threads)
    seconds = time.perf_counter() - t0
    row = evaluate(d / "model", f"{method}-seed{seed}", d, d / "eval_params.yaml", threads)
    row["train_seconds"] = round(seconds, 1)
    print(f"seed_spread: {method} seed {seed}: top1 {row['top1']:.3f} ({seconds:.0f} s training)", flush=True)
    write_text_atomic(d / "row.json", json.dumps(row))  # the finish mark: whole or absent
    return row


def sft_row(base: dict, sft: Path, sft_digest: str, work: Path, threads: int | None) -> dict:
    """The starting model's figures under the same evaluation."""
    d = work / "sft"
    ev = eval_params(base)
    if (row := cached(d, ev + f"# model: {sft_digest}\n")) is not None:
        return row
    (d / "eval_params.yaml").write_text(ev)
    row = evaluate(sft, "sft", d, d / "eval_params.yaml", threads)
    write_text_atomic(d / "row.json", json.dumps(row))  # the finish mark: whole or absent
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="directory for the runs' outputs (one per --sft model)")
    p.add_argument("--method", nargs="+", default=["grpo_outcome", "online_rft"], choices=sorted(METHODS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3],
                   help="seeds to train with; from models/sft, besides the pipeline's own")
    p.add_argument("--sft", default="models/sft",
                   help="the model RL starts from (default: the pipeline's; another needs --out and --markdown)")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side (1 thread each when > 1)")
    p.add_argument("--out", help="results (JSON; merged with earlier runs); default reports/seed_spread.json")
    p.add_argument("--markdown", help="the tables; default reports/seed_spread.md")
    args = p.parse_args()
    if args.jobs < 1:
        p.error("--jobs: at least 1")
    sft = (ROOT / args.sft).resolve()
    if not (sft / "config.json").is_file():
        p.error(f"--sft: {args.sft} is not a model directory (no config.json)")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    threads = 1 if args.jobs > 1 else None
    work, sft_digest = Path(args.work).resolve(), digest(sft)
    pipeline_sft = sft == (ROOT / "models/sft").resolve()
    if pipeline_sft:
        # The pipeline's own runs are the reference rows, as evaluated in metrics/eval.
        ref_seed = base["seed"]
        if ref_seed in args.seeds:
            p.error(f"--seeds: {ref_seed} is params.yaml's seed, whose run is the pipeline's own (metrics/eval)")
        sft_figures = figures(synthetic_metrics(ROOT / "metrics/eval/sft.json"))
    else:
        if not (args.out and args.markdown):
            p.error("--sft other than models/sft: give --out and --markdown (the default page is the pipeline's)")
        ref_seed = None
        sft_figures = sft_row(base, sft, sft_digest, work, None)
    out = ROOT / (args.out or "reports/seed_spread.json")
    results = json.loads(out.read_text()) if out.is_file() else {"runs": {}}
    results |= {"sft": sft_figures, "sft_model": args.sft, "reference_seed": ref_seed}
    jobs = [(m, s) for m in args.method for s in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda job: (job, one(*job, base, sft, sft_digest, work, threads)), jobs))
    for (method, seed), row in done:
        results["runs"].setdefault(method, {})[str(seed)] = row
    if pipeline_sft:
        for method in args.method:
            ref = ROOT / f"metrics/eval/{METHODS[method][0]}.json"
            results["runs"][method][str(ref_seed)] = figures(synthetic_metrics(ref))
    write_text_atomic(out, json.dumps(results, indent=1, sort_keys=True) + "\n")
    tables = [markdown(method, {int(s): r for s, r in runs.items()}, results["sft"], ref_seed)
              for method, runs in sorted(results["runs"].items())]
    reference = ("The reference row is the pipeline's run (`metrics/eval`). " if pipeline_sft else
                 "The SFT row is this model under the same evaluation. ")
    intro = ("# Spread of the RL results over training seeds\n\n"
             "Written by `python scripts/seed_spread.py` on the embedded default. Each run is the real "
             f"`pipeline.grpo` stage from `{args.sft}` with `seed` set to the row's value (the questions of every "
             "step and the samples drawn for them), evaluated by `pipeline.evaluate` on the synthetic test set with "
             f"the pipeline's own evaluation settings and seed ({results['sft']['n_problems']} problems, "
             f"percentages). {reference}'2 SE of a difference' is "
             "the evaluation's noise alone (evaluation/findings.py, at the mean and SFT, over problems); for "
             "sample_acc it is an upper bound, since a problem's share of correct samples varies no more than "
             "one 0/1 grade of the same mean. The standard deviation over seeds is the training run's own.\n\n")
    write_with_notes(ROOT / (args.markdown or "reports/seed_spread.md"), intro + "\n".join(tables))
    print("\n".join(tables))


if __name__ == "__main__":
    main()
