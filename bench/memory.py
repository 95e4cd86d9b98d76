"""Check `training.memory.estimate` against the measured peak of real training steps.

Each case runs in a fresh subprocess: imports, data, then the baseline RSS; then the project's
code path (`build_model` from a ModelConfig, `for_training`, AdamW from `make_optimizer`,
forward with labels under the stage's autocast, backward, clip, step): a first step on one
short row allocates AdamW's state (as every step of a real run after the first has it), then
the measured step runs the case's micro-batches. The peak is the process's high-water mark
(VmHWM, reset at the baseline where the kernel allows) minus the baseline, with glibc's mmap
threshold fixed (see MMAP_THRESHOLD). With --device cuda the GPU cases (Qwen2-shaped, bf16
autocast, GBs each) run instead, their peak from torch.cuda.max_memory_allocated. Exits 1 when
a ratio estimate / measured leaves [0.75, 1.25]. Then prints the estimate at real sizes (the
gpu profile's Qwen2.5-Math-1.5B, the paper's 7B under FSDP on 8 GPUs), for the README.

    python bench/memory.py [--device cpu|cuda] [--default-malloc] [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOUNDS = (0.75, 1.25)
# glibc raises its mmap threshold each time a large mmapped block is freed, after which tensors
# come from the heap, whose freed pages it keeps: RSS then measures that retention (measured:
# up to 1.7x the live tensors after a few steps), not what a step needs. A fixed threshold
# gives each tensor of 64 KiB or more its own mapping, returned at free, so the RSS peak is
# the live peak, as torch.cuda.max_memory_allocated is on a GPU. --default-malloc shows both.
MMAP_THRESHOLD = 65536

# Sizes where the model-dependent memory is hundreds of MB, far above a Python process's noise.
SMALL = dict(arch="llama", hidden_size=128, intermediate_size=512, num_layers=4, num_heads=4, num_kv_heads=4,
             vocab=1000)
MEDIUM = dict(arch="llama", hidden_size=512, intermediate_size=1376, num_layers=8, num_heads=8, num_kv_heads=4,
              vocab=32000)
# model, rows per micro-batch, seq_len, micro-batches per step, checkpointing, attention, compute dtype;
# padded: SFT-like rows of unequal length (a padding mask; stage sft), else packed (pretrain).
CASES = {
    "small": dict(model=SMALL, rows=16, seq_len=512, micro=2, ckpt=False, attn="sdpa", dtype="float32"),
    "small-eager": dict(model=SMALL, rows=16, seq_len=512, micro=2, ckpt=False, attn="eager", dtype="float32"),
    "small-bf16": dict(model=SMALL, rows=16, seq_len=512, micro=2, ckpt=False, attn="sdpa", dtype="bfloat16"),
    "medium": dict(model=MEDIUM, rows=8, seq_len=256, micro=2, ckpt=False, attn="sdpa", dtype="float32"),
    "medium-1mb": dict(model=MEDIUM, rows=8, seq_len=256, micro=1, ckpt=False, attn="sdpa", dtype="float32"),
    "medium-ckpt": dict(model=MEDIUM, rows=8, seq_len=256, micro=2, ckpt=True, attn="sdpa", dtype="float32"),
}
# --device cuda: Qwen2-shaped (GQA, q/k/v biases) in the gpu profile's bf16 autocast, GBs each.
QWEN_MID = dict(arch="qwen2", hidden_size=1024, intermediate_size=2816, num_layers=8, num_heads=16, num_kv_heads=2,
                vocab=32000)
QWEN_HEAD = dict(arch="qwen2", hidden_size=1536, intermediate_size=8960, num_layers=4, num_heads=12, num_kv_heads=2,
                 vocab=151936)
GPU_CASES = {
    "gpu-mid": dict(model=QWEN_MID, rows=4, seq_len=1024, micro=2, ckpt=False, attn="sdpa", dtype="bfloat16"),
    "gpu-mid-ckpt": dict(model=QWEN_MID, rows=4, seq_len=1024, micro=2, ckpt=True, attn="sdpa", dtype="bfloat16"),
    "gpu-mid-padded": dict(model=QWEN_MID, rows=4, seq_len=1024, micro=2, ckpt=False, attn="sdpa", dtype="bfloat16",
                           padded=True),
    "gpu-mid-eager": dict(model=QWEN_MID, rows=4, seq_len=512, micro=2, ckpt=False, attn="eager", dtype="bfloat16"),
    "gpu-mid-fp32": dict(model=QWEN_MID, rows=4, seq_len=1024, micro=2, ckpt=False, attn="sdpa", dtype="float32"),
    "gpu-vocab-ckpt": dict(model=QWEN_HEAD, rows=4, seq_len=1024, micro=2, ckpt=True, attn="sdpa", dtype="bfloat16",
                           padded=True),
}
ALL_CASES = {**CASES, **GPU_CASES}

QWEN_1_5B = dict(model_type="qwen2", vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                 num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2, tie_word_embeddings=True,
                 max_position_embeddings=4096)
DEEPSEEKMATH_7B = dict(model_type="llama", vocab_size=102400, hidden_size=4096, intermediate_size=11008,
                       num_hidden_layers=30, num_attention_heads=32, num_key_value_heads=32,
                       tie_word_embeddings=False, max_position_embeddings=4096)


def proc_status(field: str) -> int:
    """A /proc/self/status memory field (VmRSS, VmHWM) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_case(name: str, device_name: str = "cpu") -> dict:
    """One case, in this (fresh) process: returns estimate and measured peak, in bytes."""
    import torch

    from training.config import ModelConfig, OptimConfig
    from training.memory import estimate
    from training.model import build_model
    from training.optim import make_optimizer
    from training.runtime import TrainRuntime, autocast, for_training

    case = ALL_CASES[name]
    device = torch.device(device_name)
    cuda = device.type == "cuda"
    if not cuda:
        torch.set_num_threads(2)  # this project's CPU machines have 2 cores
    m = case["model"]
    cfg = ModelConfig(pretrained=None, architecture=m["arch"], hidden_size=m["hidden_size"],
                      intermediate_size=m["intermediate_size"], num_layers=m["num_layers"], num_heads=m["num_heads"],
                      num_kv_heads=m["num_kv_heads"], max_position_embeddings=max(512, case["seq_len"]),
                      tie_embeddings=True, dtype="float32")
    runtime = TrainRuntime(compute_dtype=case["dtype"], micro_batch_size=case["rows"],
                           gradient_checkpointing=case["ckpt"])
    optim = OptimConfig(lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1, warmup_frac=0.0, min_lr_ratio=1.0, grad_clip=1.0)
    gen = torch.Generator().manual_seed(0)
    warmup = torch.randint(0, m["vocab"], (1, 16), generator=gen)
    batches = [torch.randint(0, m["vocab"], (case["rows"], case["seq_len"]), generator=gen)
               for _ in range(case["micro"])]
    masks = [None] * len(batches)
    if case.get("padded"):  # right padding on every other row, as a collated SFT batch has
        masks = [torch.ones_like(ids) for ids in batches]
        for mask in masks:
            mask[::2, case["seq_len"] // 2 :] = 0
    batches = [(ids.to(device), None if mask is None else mask.to(device)) for ids, mask in zip(batches, masks)]
    warmup = [(warmup.to(device), None)]
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        reset = True
    else:
        baseline = proc_status("VmRSS")
        reset = reset_peak()
    model = build_model(cfg, m["vocab"], eos_id=0, pad_id=0, seed=0)
    if case["attn"] != "sdpa":
        model.set_attn_implementation(case["attn"])
    for_training(model, runtime).train()
    model.to(device)
    optimizer = make_optimizer(model, optim)
    # A first step on one short row allocates AdamW's state, as any step after a run's first has
    # it; the measured step then runs the case's micro-batches.
    for step_batches in (warmup, batches):
        for ids, mask in step_batches:
            with autocast(device, runtime.compute_dtype):
                loss = model(input_ids=ids, attention_mask=mask, labels=ids).loss
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - baseline
    else:
        peak = proc_status("VmHWM") - baseline
    est = estimate(model.config, stage="sft" if case.get("padded") else "pretrain", compute_dtype=case["dtype"],
                   micro_batch_size=case["rows"], seq_len=case["seq_len"], gradient_checkpointing=case["ckpt"],
                   accumulating=case["micro"] > 1, device=device.type)
    return {"name": name, "device": str(device), "estimate": est.total, "measured": peak, "hwm_reset": reset,
            "attention": model.config._attn_implementation, "parameters": est.parameters,
            "reserved": torch.cuda.max_memory_reserved() if cuda else None,
            "parts": {k: getattr(est, k) for k in ("weights", "gradients", "optimizer", "activations")}}


def measure_all(device: str = "cpu", default_malloc: bool = False) -> list[dict]:
    results = []
    for name in GPU_CASES if device == "cuda" else CASES:
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        if not default_malloc:
            env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
        out = subprocess.run([sys.executable, __file__, "--case", name, "--device", device], capture_output=True,
                             text=True, cwd=ROOT, env=env)
        if out.returncode:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"case {name} failed")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def measured_table(results: list[dict]) -> bool:
    """Prints one row per case; True when every ratio is inside BOUNDS."""
    ok = True
    print("| case | shape | micro-batch | attention | dtype | ckpt | estimate | measured peak | ratio |")
    print("|---|---|---|---|---|---|---:|---:|---:|")
    for r in results:
        c = ALL_CASES[r["name"]]
        m = c["model"]
        ratio = r["estimate"] / r["measured"]
        inside = BOUNDS[0] <= ratio <= BOUNDS[1]
        ok &= inside
        shape = f"{m['arch']} H{m['hidden_size']} L{m['num_layers']} V{m['vocab']} ({r['parameters'] / 1e6:.1f} M)"
        batch = f"{c['micro']} x {c['rows']} x {c['seq_len']}" + (" padded" if c.get("padded") else "")
        print(f"| {r['name']} | {shape} | {batch} | {r['attention']} | {c['dtype']} | {'on' if c['ckpt'] else 'off'} "
              f"| {mib(r['estimate'])} | {mib(r['measured'])} | {ratio:.2f}{'' if inside else ' OUT'} |")
    if not all(r["hwm_reset"] for r in results):
        print("(VmHWM could not be reset at the baseline: peaks include the start-up's)")
    return ok


def real_size_tables() -> None:
    """The estimate at the gpu profile's sizes, and for the paper's 7B under FSDP on 8 GPUs."""
    from transformers import AutoConfig

    from training.memory import estimate, format_estimate

    gpu = yaml.safe_load((ROOT / "profiles" / "gpu.yaml").read_text())
    dtype = gpu["model"]["dtype"]
    ckpt = gpu["runtime"]["gradient_checkpointing"]
    sft, grpo, rm = gpu["sft"], gpu["grpo"], gpu["reward_model"]
    prompt = 256  # a GSM8K/MATH prompt in the cot format is well under 256 tokens
    rows = grpo["questions_per_step"] * grpo["group_size"]
    length = prompt + grpo["max_new_tokens"]
    qwen = AutoConfig.for_model(**QWEN_1_5B)
    ds7b = AutoConfig.for_model(**DEEPSEEKMATH_7B)
    runs = [
        ("Qwen2.5-Math-1.5B, 1 GPU, sft", qwen, dict(stage="sft", micro_batch_size=sft["micro_batch_size"],
                                                     seq_len=sft["max_len"])),
        ("Qwen2.5-Math-1.5B, 1 GPU, reward_model", qwen, dict(stage="reward_model",
                                                              micro_batch_size=rm["micro_batch_size"],
                                                              seq_len=prompt + rm["max_new_tokens"])),
        ("Qwen2.5-Math-1.5B, 1 GPU, grpo", qwen, dict(stage="grpo", micro_batch_size=grpo["micro_batch_size"],
                                                      seq_len=length, sampling=(rows, length))),
        ("Qwen2.5-Math-1.5B, 1 GPU, rm_data", qwen, dict(stage="rm_data", micro_batch_size=1, seq_len=length,
                                                         sampling=(rm["samples_per_question"] * 16, length))),
        ("DeepSeekMath-7B, FSDP 8 GPUs, sft", ds7b, dict(stage="sft", micro_batch_size=sft["micro_batch_size"],
                                                         seq_len=sft["max_len"], world_size=8, sharded=True)),
        ("DeepSeekMath-7B, FSDP 8 GPUs, grpo", ds7b, dict(stage="grpo", micro_batch_size=grpo["micro_batch_size"],
                                                          seq_len=length, sampling=(rows // 8, length),
                                                          world_size=8, sharded=True)),
    ]
    print(f"\nReal sizes (profiles/gpu.yaml: {dtype} autocast over float32 masters, gradient checkpointing "
          f"{'on' if ckpt else 'off'}, sdpa; grpo: {grpo['questions_per_step']} questions x {grpo['group_size']} "
          f"samples, {prompt} prompt + {grpo['max_new_tokens']} new tokens; per process):\n")
    print("```")
    for title, config, kw in runs:
        est = estimate(config, compute_dtype=dtype, gradient_checkpointing=ckpt, device="cuda", **kw)
        size = f"micro-batch {kw['micro_batch_size']} x {kw['seq_len']}" if est.activations else ""
        kv = f", sampling {kw['sampling'][0]} rows x {kw['sampling'][1]}" if "sampling" in kw else ""
        print(format_estimate(est, f"{title} ({size}{kv})".replace("(, ", "(")))
        print()
    print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(ALL_CASES), help="run one case in this process and print JSON")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the GPU cases, peak from torch.cuda.max_memory_allocated")
    parser.add_argument("--default-malloc", action="store_true",
                        help="also measure with glibc's default (dynamic) mmap threshold, for comparison")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.device)))
        return
    results = measure_all(args.device)
    ok = measured_table(results)
    if args.default_malloc and args.device == "cpu":
        print("\nThe same with glibc's default mmap threshold (allocator retention included; not checked):\n")
        for r, d in zip(results, measure_all(default_malloc=True)):
            print(f"  {r['name']:<12} live peak {mib(r['measured']):>10}   "
                  f"default-malloc RSS peak {mib(d['measured']):>10}   x{d['measured'] / r['measured']:.2f}")
    if args.device == "cuda":
        print("\nCUDA caching allocator, max reserved: "
              + ", ".join(f"{r['name']} {mib(r['reserved'])}" for r in results))
    real_size_tables()
    if not ok:
        raise SystemExit(f"an estimate is outside {BOUNDS} of its measured peak")


if __name__ == "__main__":
    main()
