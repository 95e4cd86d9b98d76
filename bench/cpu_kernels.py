"""CPU kernel family: torch's AVX2 kernels (what every stage runs, pipeline/cpu_kernels.py)
against the AVX-512 ones the machine would pick itself, on the embedded default's work.

Each measurement is a fresh process (torch reads ATEN_CPU_CAPABILITY once): a model of params.yaml
`model` shape (random init, vocabulary of `tokenizer.vocab_size`) takes `--steps` SFT-shaped
training steps (sft.batch_size x sft.max_len random tokens, forward, backward, AdamW as
training/optim.py makes it) and one sampling call of the lean engine (16 prompts x 8 samples,
72 new tokens: a GRPO rollout). The two settings alternate, `--repeats` times, so a drift of the
machine's speed hits both. Prints the medians of each and the ratio AVX-512 / AVX2 (above 1: the
pinned AVX2 kernels are faster). Also prints whether the two settings gave the same training loss
bits (they need not).

    python bench/cpu_kernels.py [--repeats 3] [--steps 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"avx2 (pinned)": "avx2", "avx512 (machine's own)": "avx512"}

CHILD = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import torch
from pipeline.config import load_params
from training.model import build_model
from training.optim import make_optimizer
from generation import LeanEngine, SamplingSpec

steps, threads = int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.use_deterministic_algorithms(True)
params = load_params(str(Path(sys.argv[1]) / "params.yaml"))
vocab = params.tokenizer.vocab_size
model = build_model(params.model, vocab, 1, 0, seed=0)
opt = make_optimizer(model, params.sft.optim)
gen = torch.Generator().manual_seed(0)
batch = torch.randint(2, vocab, (params.sft.batch_size, params.sft.max_len), generator=gen)
model.train()
t0 = time.perf_counter()
for _ in range(steps):
    loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
train_s = time.perf_counter() - t0
model.eval()

class Tok:  # the engine needs EOS and pad ids, and text it does not time here
    eos_token_id, pad_token_id = 1, 0
    def batch_decode(self, rows, skip_special_tokens=True):
        return ["" for _ in rows]

engine = LeanEngine(model, Tok(), 128)
prompts = torch.randint(2, vocab, (16, 40), generator=gen).tolist()
t0 = time.perf_counter()
engine.sample(prompts, SamplingSpec(8, 1.0, 1.0, 72, 0))
sample_s = time.perf_counter() - t0
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(), "train_s": train_s,
                  "sample_s": sample_s, "loss": loss.item()}))
"""


def measure(value: str, steps: int, threads: int) -> dict:
    env = {**os.environ, "ATEN_CPU_CAPABILITY": value}
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(steps), str(threads)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for r in range(args.repeats):
        order = list(SETTINGS.items()) if r % 2 == 0 else list(reversed(SETTINGS.items()))
        for name, value in order:
            runs[name].append(measure(value, args.steps, args.threads))
    got = {name: rs[0]["capability"] for name, rs in runs.items()}
    print(f"kernels used: {got}")
    if len(set(got.values())) == 1:
        print("this CPU has no AVX-512 (or torch ignored the request): both settings ran the same kernels")
    med = {name: {k: statistics.median(x[k] for x in rs) for k in ("train_s", "sample_s")} for name, rs in runs.items()}
    for name, m in med.items():
        print(f"{name:24s} {args.steps} train steps {m['train_s']:6.2f} s   16x8 sampling {m['sample_s']:6.2f} s")
    a, b = (med[n] for n in SETTINGS)
    print(f"ratio avx512/avx2: train {b['train_s'] / a['train_s']:.3f}, sampling {b['sample_s'] / a['sample_s']:.3f}")
    losses = {name: rs[0]["loss"] for name, rs in runs.items()}
    print(f"same last training loss bits: {len(set(losses.values())) == 1} ({losses})")


if __name__ == "__main__":
    main()
