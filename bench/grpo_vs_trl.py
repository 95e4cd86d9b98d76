"""GRPO step time: this project's trainer vs TRL's GRPOTrainer, same model, batch and lengths.

Both run on the same tiny Llama (the embedded default's size, built from a config), the same
questions, G, completion length, beta, learning rate and rule reward, mu = 1, on this machine in
one process. TRL is configured with the paper's loss (`loss_type="grpo"`, per-sequence mean) and
our trainer with `skip_zero_std_groups` off, so both do the same work per step. Prints seconds per
step of each (median over measured steps, after a warm-up step) and the ratio ours / TRL.

    python bench/grpo_vs_trl.py [--steps 5] [--questions 16] [--group 8] [--max-new-tokens 72] [--engine lean|hf]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

import torch

from evaluation.prompts import plain_prompt, with_prompts
from inputs.problems import normalize_all
from evaluation.synthetic_problems import make_splits
from pipeline.config import load_params
from rl.grpo import train_grpo
from rl.rewards import rule_rewards
from rl.scoring import RuleScorer
from training.checkpoint import Checkpointer
from training.model import build_model
from training.runtime import TrainRuntime
from training.step_log import StepLogger
from training.tokenizer import train_bpe


class StepTimes(StepLogger):
    """A logger that records the wall time between consecutive logged steps."""

    def __init__(self, total: int) -> None:
        super().__init__(None, 1, total)
        self.stamps = [time.perf_counter()]

    def log(self, step: int, values: dict[str, float]) -> None:
        self.stamps.append(time.perf_counter())


def ours(model, tokenizer, problems, args, cfg, shared_prompt: bool) -> list[float]:
    cfg = replace(cfg, steps=args.steps + 1, questions_per_step=args.questions, group_size=args.group,
                  max_new_tokens=args.max_new_tokens, skip_zero_std_groups=False, log_every=1)
    ref = build_model(args.model_cfg, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, seed=0)
    ref.load_state_dict(model.state_dict())
    timer = StepTimes(cfg.steps)
    engine = None  # HF generate on the policy
    if args.engine == "lean":  # the default pipeline's sampler (runtime.engine)
        from generation import make_engine

        engine = make_engine("lean", model=model, tokenizer=tokenizer, batch_size=args.questions * args.group)
    # The default pipeline's runtime: each group's prompt runs once in the update (runtime.shared_prompt).
    runtime = TrainRuntime(micro_batch_size=cfg.micro_batch_size, shared_prompt=shared_prompt)
    train_grpo(model, ref, tokenizer, problems, cfg, "outcome", RuleScorer(), 0, timer, Checkpointer(None, 0, ""),
               runtime=runtime, engine=engine)
    return [b - a for a, b in zip(timer.stamps, timer.stamps[1:])][1:]


def trl(model, tokenizer, problems, args, cfg) -> list[float]:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    data = Dataset.from_list([{"prompt": p["prompt"], "gold": p["answer"]}
                              for p in problems[: args.questions * (args.steps + 1)]])

    def reward(completions, gold, **_):
        return rule_rewards(completions, gold)

    stamps: list[float] = []

    class Timer(TrainerCallback):
        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        # TRL builds its reference model from the policy's path, so hand it a saved checkpoint.
        model.save_pretrained(f"{out}/init")
        tokenizer.save_pretrained(f"{out}/init")
        config = GRPOConfig(output_dir=out, per_device_train_batch_size=args.questions * args.group,
                            num_generations=args.group, max_completion_length=args.max_new_tokens,
                            beta=cfg.beta, epsilon=cfg.clip_eps, loss_type="grpo", learning_rate=cfg.optim.lr,
                            lr_scheduler_type="constant", max_steps=args.steps + 1, num_iterations=1,
                            temperature=cfg.temperature, top_k=0, report_to=[], save_strategy="no",
                            logging_steps=10**6, use_cpu=True, shuffle_dataset=False, seed=0,
                            # TRL 1.x defaults to bf16 autocast and activation checkpointing (about 30 s per
                            # step here: this CPU has no bf16 matrix units); ours runs float32 without
                            # checkpointing, so TRL does too.
                            bf16=False, gradient_checkpointing=False)
        trainer = GRPOTrainer(model=f"{out}/init", reward_funcs=[reward], args=config, train_dataset=data,
                              processing_class=tokenizer, callbacks=[Timer()])
        start = time.perf_counter()
        trainer.train()
    stamps.insert(0, start)
    return [b - a for a, b in zip(stamps, stamps[1:])][1:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5, help="measured steps (after one warm-up step)")
    p.add_argument("--questions", type=int, default=16)
    p.add_argument("--group", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=72)
    p.add_argument("--engine", choices=["lean", "hf"], default="lean",
                   help="our rollout sampler: lean (the default pipeline's) or hf (generate, as TRL)")
    p.add_argument("--params", default="params.yaml", help="model size and GRPO knobs come from here")
    args = p.parse_args()
    params = load_params(args.params)
    torch.set_num_threads(params.threads or torch.get_num_threads())
    args.model_cfg = params.model
    raw, _ = make_splits(params.world.problems, params.seed)
    tokenizer = train_bpe([plain_prompt(q["question"]) + q["answer"] for q in raw[:5000]],
                          params.tokenizer.vocab_size, params.tokenizer.min_frequency)
    train = with_prompts(normalize_all(raw, "synthetic"), "plain")
    fresh = lambda: build_model(params.model, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, 0)  # noqa: E731
    ours_s = ours(fresh(), tokenizer, train, args, params.grpo, params.runtime.shared_prompt)
    trl_s = trl(fresh(), tokenizer, train, args, params.grpo)
    a, b = statistics.median(ours_s), statistics.median(trl_s)
    print(f"setting: {args.questions} questions x G={args.group}, {args.max_new_tokens} new tokens, "
          f"beta {params.grpo.beta}, {params.threads} threads, {args.steps} measured steps, our sampler {args.engine}, "
          f"shared prompt {params.runtime.shared_prompt}")
    print(f"ours: {a:.3f} s/step   TRL GRPOTrainer: {b:.3f} s/step   ratio ours/TRL: {a / b:.2f}")


if __name__ == "__main__":
    main()
