"""Used by scripts/gpu_check.sh: does a stage run under a sharded backend end with the plain
run's loss? usage: same_loss.py RUNS_DIR STAGE BACKEND (RUNS_DIR/<backend>_<stage>/metrics.json)."""

import json
import sys

runs, stage, backend = sys.argv[1:]
key = {"sft": "final_loss", "grpo": "loss"}[stage]
a = json.load(open(f"{runs}/plain_{stage}/metrics.json"))[key]
b = json.load(open(f"{runs}/{backend}_{stage}/metrics.json"))[key]
close = abs(a - b) <= 1e-3 * max(1.0, abs(a))  # same math on a 1-rank mesh; kernels and reduction order differ
print(f"  plain {key}={a:.6f}  {backend} {key}={b:.6f}  {'same' if close else 'DIFFERENT'}")
# GRPO samples first: one flipped token changes the batch, so its loss is reported, not held.
sys.exit(0 if close or stage == "grpo" else 1)
