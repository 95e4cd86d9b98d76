"""Sampling throughput: LeanEngine (direct decode loop) against HF generate (HFEngine with a static
KV cache, as the GRPO rollouts and rm_data use it), same model, prompts, seeds, in one run.
LeanEngine runs its fused decode step (generation/fast_decode.py) where the model allows it;
`--ablations` also times it with the module forward instead.

The model is the embedded default's shape (params.yaml `model`): the trained SFT model when
models/sft exists (so completions stop at EOS as they do in GRPO), else a random init of that
shape (which never stops early: every row runs to the token cap). Prompts are synthetic training
questions in the params' prompt format; each repeat samples the next `questions` of them, n =
`group` each, at the GRPO temperature and top-p, seeded by the repeat index; the engines
alternate which goes first. Prints completion tokens/s of each (all repeats, after one warm-up
call each), wall and CPU seconds per batch (medians; CPU time is the steadier figure on a shared
machine), mean completion length, and the ratio lean/HF.

    python bench/sampling.py [--repeats 5] [--model models/sft|random] [--threads N] [--ablations]
    python bench/sampling.py --questions 128 --group 8 --ablations   # evaluation-sized chunks (1024 rows)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.prompts import with_prompts  # noqa: E402
from evaluation.synthetic_problems import make_splits  # noqa: E402
from generation import HFEngine, LeanEngine, SamplingSpec  # noqa: E402
from inputs.problems import normalize_all  # noqa: E402
from pipeline.config import load_params  # noqa: E402
from training.model import build_model, load_model  # noqa: E402


def load(args, params):
    """(model, tokenizer, description) of the benchmarked policy."""
    from transformers import AutoTokenizer

    if args.model != "random":
        model = load_model(args.model, params.model.dtype)
        return model, AutoTokenizer.from_pretrained(args.model), f"{args.model} (trained)"
    if Path("models/tokenizer/tokenizer.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained("models/tokenizer")
    else:
        from training.tokenizer import train_bpe

        raw, _ = make_splits(params.world.problems, params.seed)
        tokenizer = train_bpe([q["question"] + q["answer"] for q in raw[:5000]], params.tokenizer.vocab_size,
                              params.tokenizer.min_frequency)
    model = build_model(params.model, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, seed=0)
    return model, tokenizer, "random init of params.yaml `model`"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml", help="model shape, prompt format and GRPO sampling knobs")
    p.add_argument("--model", default=None, help="a saved model directory, or 'random' (default: models/sft if "
                                                  "present, else random)")
    p.add_argument("--repeats", type=int, default=5, help="measured batches per engine")
    p.add_argument("--questions", type=int, default=None, help="prompts per batch (default grpo.questions_per_step)")
    p.add_argument("--group", type=int, default=None, help="samples per prompt (default grpo.group_size)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default grpo.max_new_tokens")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default params.yaml `threads`)")
    p.add_argument("--ablations", action="store_true",
                   help="also time HF with its dynamic cache and LeanEngine without each of its savings")
    args = p.parse_args()
    params = load_params(args.params)
    grpo = params.grpo
    questions = args.questions or grpo.questions_per_step
    group = args.group or grpo.group_size
    max_new = args.max_new_tokens or grpo.max_new_tokens
    threads = params.threads if args.threads is None else args.threads
    if threads > 0:
        torch.set_num_threads(threads)
    if args.model is None:
        args.model = "models/sft" if Path("models/sft/config.json").is_file() else "random"
    model, tokenizer, what = load(args, params)
    model.eval()
    raw, _ = make_splits(params.world.problems, params.seed)
    problems = with_prompts(normalize_all(raw[: questions * (args.repeats + 1)], "synthetic"), params.prompt,
                            tokenizer)
    prompts = tokenizer([q["prompt"] for q in problems], add_special_tokens=False)["input_ids"]
    rows = questions * group
    engines = {"HF generate (static cache)": HFEngine(model, tokenizer, rows, static_cache=True),
               "LeanEngine": LeanEngine(model, tokenizer, rows)}
    if args.ablations:
        engines |= {"HF generate (dynamic cache)": HFEngine(model, tokenizer, rows),
                    "LeanEngine, module forward": LeanEngine(model, tokenizer, rows, fused=False),
                    "LeanEngine, repeated prompt KV": LeanEngine(model, tokenizer, rows, shared_prefix=False),
                    "LeanEngine, DynamicCache": LeanEngine(model, tokenizer, rows, cache="dynamic"),
                    "LeanEngine, no row dropping": LeanEngine(model, tokenizer, rows, drop_finished=False)}
    names = list(engines)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    tokens = dict.fromkeys(names, 0)
    spec = lambda seed: SamplingSpec(group, grpo.temperature, grpo.top_p, max_new, seed)  # noqa: E731
    for engine in engines.values():  # warm-up: first-call allocations, lazy imports
        engine.sample(prompts[:questions], spec(10**6))
    for r in range(args.repeats):
        batch = prompts[(r + 1) * questions : (r + 2) * questions]
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            samples = engines[name].sample(batch, spec(r))
            seconds[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            tokens[name] += sum(len(s.token_ids) for row in samples for s in row)
    print(f"setting: {what}, {sum(x.numel() for x in model.parameters()) / 1e6:.2f}M params; {questions} prompts "
          f"x n={group}, {max_new} new tokens, T={grpo.temperature}, top_p={grpo.top_p}; {threads} threads "
          f"(torch {torch.get_num_threads()}); {args.repeats} batches each after a warm-up")
    rate = {name: tokens[name] / sum(seconds[name]) for name in names}
    for name in names:
        print(f"{name:28s} {rate[name]:6.0f} tokens/s  {statistics.median(seconds[name]):6.3f} s/batch  "
              f"{statistics.median(cpu[name]):6.3f} CPU s/batch  {tokens[name] / (args.repeats * rows):4.1f} "
              "tokens/completion")
    hf, lean = names[0], names[1]
    cpu_rate = {name: tokens[name] / sum(cpu[name]) for name in (hf, lean)}
    print(f"ratio lean/HF: {rate[lean] / rate[hf]:.2f}x tokens/s (wall), {cpu_rate[lean] / cpu_rate[hf]:.2f}x tokens "
          f"per CPU second; median batch time {statistics.median(seconds[hf]) / statistics.median(seconds[lean]):.2f}x "
          "shorter")


if __name__ == "__main__":
    main()
