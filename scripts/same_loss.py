"""Used by scripts/gpu_check.sh: does a stage run under a sharded backend end with the plain
run's loss? usage: same_loss.py RUNS_DIR STAGE BACKEND (RUNS_DIR/<backend>_<stage>/metrics.json)."""

import json
import sys

runs, stage, backend = sys.argv[1:]
a = json.load(open(f"{runs}/plain_{stage}/metrics.json"))
b = json.load(open(f"{runs}/{backend}_{stage}/metrics.json"))
if stage == "sft":
    x, y = a["final_loss"], b["final_loss"]
    close = abs(x - y) <= 1e-3 * max(1.0, abs(x))  # same math on a 1-rank mesh; kernels and reduction order differ
    print(f"  plain final_loss={x:.6f}  {backend} final_loss={y:.6f}  {'same' if close else 'DIFFERENT'}")
    sys.exit(0 if close else 1)
# GRPO samples first: one flipped token changes the batch, so its numbers are reported, not held.
# A last step whose groups were all flat logs no loss, hence .get.
for key in ("reward_mean", "loss", "kl"):
    print(f"  {key}: plain {a.get(key)}  {backend} {b.get(key)}")
