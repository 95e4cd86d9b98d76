"""The measured sweep behind `grpo.model_reward` (reports/sweep.md): GRPO rewarded by a trained
reward model (ORM, PRM, iterative RL) at several learning rates, KL weights, step counts and
reward-model refresh intervals, each run to the end with the drift guard off, then evaluated on
the synthetic test set (greedy top-1, maj@8) and compared with the SFT model.

Needs the default pipeline's `models/sft`, `models/rm/{orm,prm}` and `data/rm/prm` (run
`dvc repro reward_model` first). Every run is the real stage (`python -m pipeline.grpo`, then
`python -m pipeline.evaluate`) on a copy of params.yaml with the run's overrides; outputs go
under --work. Usage:

    python scripts/sweep_model_reward.py --work /tmp/sweep [--only NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import yaml

from stage_runs import ROOT, run, write_with_notes
from stage_runs import with_overrides as set_params

# name: (method, {dotted param: value}); the defaults of the run are params.yaml's.
RUNS: dict[str, tuple[str, dict]] = {
    "prm-lr5e-5": ("grpo_process", {"grpo.model_reward.lr": 5e-5}),
    "prm-lr2e-5": ("grpo_process", {"grpo.model_reward.lr": 2e-5}),
    "prm-lr1e-5": ("grpo_process", {"grpo.model_reward.lr": 1e-5}),
    "prm-lr2e-6": ("grpo_process", {"grpo.model_reward.lr": 2e-6}),
    "prm-lr2e-5-beta0.2": ("grpo_process", {"grpo.model_reward.lr": 2e-5, "grpo.model_reward.beta": 0.2}),
    "orm-lr2e-5": ("grpo_outcome_orm", {"grpo.model_reward.lr": 2e-5}),
    "orm-lr1e-5": ("grpo_outcome_orm", {"grpo.model_reward.lr": 1e-5}),
    "iter-lr2e-5-refresh15": ("grpo_iterative", {"grpo.model_reward.lr": 2e-5, "iterative.steps_per_iteration": 15,
                                                 "iterative.iterations": 4}),
    "iter-lr2e-5-refresh30": ("grpo_iterative", {"grpo.model_reward.lr": 2e-5, "iterative.steps_per_iteration": 30,
                                                 "iterative.iterations": 2}),
}
RM = {"grpo_process": "prm", "grpo_iterative": "prm", "grpo_outcome_orm": "orm"}


def with_overrides(base: dict, overrides: dict) -> dict:
    out = set_params(base, overrides)
    # The sweep measures drift, so the guard stays off; evaluation only on the synthetic set.
    out["grpo"]["model_reward"]["min_agreement"] = 0.0
    # Measured with HF generate as the sampler; the lean engine samples the same distribution
    # (tests/generation/test_lean_engine.py) with another random stream.
    out["runtime"]["engine"] = "hf"
    out["evaluate"]["backend"] = "hf"
    out["evaluate"]["benchmarks"] = [b for b in out["evaluate"]["benchmarks"] if b["name"] == "synthetic"]
    return out


def agreement_trace(live: Path) -> list[float]:
    tsv = live / "plots" / "metrics" / "rm_rule_agreement.tsv"
    if not tsv.is_file():
        return []
    with tsv.open() as fh:
        return [float(row["rm_rule_agreement"]) for row in csv.DictReader(fh, delimiter="\t")]


def one(name: str, method: str, overrides: dict, base: dict, work: Path) -> dict:
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    params = d / "params.yaml"
    params.write_text(yaml.safe_dump(with_overrides(base, overrides), sort_keys=False))
    rm = RM[method]
    grpo = [sys.executable, "-m", "pipeline.grpo", "--params", str(params), "--method", method,
            "--reward-model", f"models/rm/{rm}", "--train", "data/problems/rl.jsonl", "--init", "models/sft",
            "--out", str(d / "model"), "--live", str(d / "live"), "--metrics", str(d / "grpo.json"),
            "--checkpoints", str(d / "ckpt")]
    if method == "grpo_iterative":
        grpo += ["--rm-data", "data/rm/prm/train.jsonl", "--rm-heldout", "data/rm/prm/heldout.jsonl"]
    t0 = time.perf_counter()
    run(grpo, d / "grpo.log")
    t_grpo = time.perf_counter() - t0
    run([sys.executable, "-m", "pipeline.evaluate", "--params", str(params), "--model", str(d / "model"),
         "--benchmark", "synthetic", "data/world/test.jsonl", "--samples", str(d / "samples.jsonl"),
         "--metrics", str(d / "eval.json"), "--name", name, "--headline", str(d / "headline.json"),
         "--timing", str(d / "timing.json"), "--curves", str(d / "curves")], d / "eval.log")
    g = json.loads((d / "grpo.json").read_text())
    e = json.loads((d / "eval.json").read_text())["synthetic"]
    trace = agreement_trace(d / "live")
    return {"name": name, "method": method, **overrides, "top1": e["top1"], "maj@8": e.get("maj@8"),
            "n_problems": e["n_problems"], "final_accuracy": g.get("accuracy"), "final_agreement": g.get("rm_rule_agreement"),
            "min_agreement_logged": min(trace) if trace else None, "kl": g.get("kl"), "adv_mean": g.get("adv_mean"),
            "grpo_seconds": round(t_grpo, 1), "agreement_trace": trace}


def sft_row(base: dict, work: Path) -> dict:
    d = work / "sft"
    d.mkdir(parents=True, exist_ok=True)
    params = d / "params.yaml"
    params.write_text(yaml.safe_dump(with_overrides(base, {}), sort_keys=False))
    if not (d / "eval.json").is_file():
        run([sys.executable, "-m", "pipeline.evaluate", "--params", str(params), "--model", "models/sft",
             "--benchmark", "synthetic", "data/world/test.jsonl", "--samples", str(d / "samples.jsonl"),
             "--metrics", str(d / "eval.json"), "--name", "sft", "--headline", str(d / "headline.json"),
             "--timing", str(d / "timing.json"), "--curves", str(d / "curves")], d / "eval.log")
    e = json.loads((d / "eval.json").read_text())["synthetic"]
    return {"name": "sft", "top1": e["top1"], "maj@8": e.get("maj@8"), "n_problems": e["n_problems"]}


def markdown(rows: list[dict], sft: dict) -> str:
    n = sft["n_problems"]
    se = lambda a, b: 2 * math.sqrt((a * (1 - a) + b * (1 - b)) / n)  # noqa: E731 - as evaluation.findings.two_se
    lines = ["| run | method | overrides | top1 | maj@8 | top1 - SFT (2 SE) | collapsed | final sample acc | "
             "final RM-rule agreement | lowest logged agreement | KL | GRPO s |",
             "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        over = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in r.items() if "." in k)
        diff = r["top1"] - sft["top1"]
        low = min(diff, (r["maj@8"] or 0) - (sft["maj@8"] or 0))
        collapsed = "yes" if low < -se(r["top1"], sft["top1"]) else "no"
        fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {r['name']} | {r['method']} | {over} | {100 * r['top1']:.1f} | {100 * (r['maj@8'] or 0):.1f} | "
                     f"{100 * diff:+.1f} ({100 * se(r['top1'], sft['top1']):.1f}) | {collapsed} | "
                     f"{fmt(r['final_accuracy'])} | {fmt(r['final_agreement'])} | {fmt(r['min_agreement_logged'])} | "
                     f"{fmt(r['kl'])} | {r['grpo_seconds']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="directory for the runs' outputs")
    p.add_argument("--only", nargs="*", help="run only these names (default: all)")
    p.add_argument("--out", default="reports/sweep.json", help="results (JSON; merged with earlier runs)")
    p.add_argument("--markdown", default="reports/sweep.md", help="the table the report links to")
    args = p.parse_args()
    work = Path(args.work)
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    out = ROOT / args.out
    results = json.loads(out.read_text()) if out.is_file() else {"runs": {}}
    results["sft"] = sft_row(base, work)
    for name, (method, overrides) in RUNS.items():
        if args.only and name not in args.only:
            continue
        print(f"sweep: {name}", flush=True)
        results["runs"][name] = one(name, method, overrides, base, work)
        out.write_text(json.dumps(results, indent=1))
        print(json.dumps({k: v for k, v in results["runs"][name].items() if k != "agreement_trace"}), flush=True)
    rows = [results["runs"][k] for k in RUNS if k in results["runs"]]
    table = markdown(rows, results["sft"])
    sft = results["sft"]
    intro = ("# Sweep of the model-reward RL settings\n\n"
             "Written by `python scripts/sweep_model_reward.py` on the embedded default: every run is the real "
             "`pipeline.grpo` stage from `models/sft` with the trained `models/rm/{orm,prm}`, run to its end with "
             "the drift guard off, then `pipeline.evaluate` on the synthetic test set (top-1 greedy, maj@8 at "
             f"T = 0.7, {sft['n_problems']} problems; percentages). SFT: top-1 {100 * sft['top1']:.1f}, "
             f"maj@8 {100 * (sft['maj@8'] or 0):.1f}. Collapsed: top-1 or maj@8 more than 2 standard errors below "
             "SFT. Agreement: share of the step's samples where the reward model's verdict (> 0.5) matches the "
             "rule grader; 'lowest logged' is the minimum over the logged steps (every 5th). GRPO s: the stage's "
             "wall time, not a speed benchmark. Other settings are params.yaml's.\n\n")
    write_with_notes(ROOT / args.markdown, intro + table)
    print(table)


if __name__ == "__main__":
    main()
