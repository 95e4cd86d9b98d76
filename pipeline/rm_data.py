"""Stage `rm_data`: sample solutions from the SFT policy and label them for the ORM (rule grade) and
the PRM (Math-Shepherd estimation at every step end, hard or soft by `reward_model.shepherd_soft`;
the metrics compare both); each split into train and held-out by question."""

from __future__ import annotations

from collections import Counter

from evaluation.prompts import with_prompts
from inputs.jsonl import write_jsonl_atomic, write_metrics_atomic
from inputs.problems import read_problems
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--train", required=True, help="input: RL questions (JSONL, the normalised layout of inputs.problems)")
    p.add_argument("--policy", required=True, help="input: policy that samples and completes (the SFT model)")
    p.add_argument("--out-dir", required=True, help="output: directory with orm/ and prm/ train.jsonl, heldout.jsonl")
    p.add_argument("--metrics", required=True, help="output: label statistics (JSON)")
    args = p.parse_args(argv)
    # Imported after parsing: torch and transformers take seconds, which `--help` should not.
    import torch
    from accelerate import PartialState

    from generation import make_engine
    from pipeline.train_common import check_init_format, load_tokenizer, malformed, source_counts
    from rl.rm_data import sample_solutions, split_heldout, to_record
    from rl.shepherd import outcome_examples, shepherd_both
    from training.model import load_model

    params = stage.setup(args.params)
    cfg = params.reward_model
    tokenizer = load_tokenizer(args.policy)
    check_init_format(args.policy, params.prompt)
    policy_dir = str(stage.require_file(args.policy))
    runtime = params.runtime
    if runtime.engine in ("hf", "lean"):
        # hf: no shared engine, each step builds its own HFEngine with the batching its seeds
        # were fixed with. lean: one engine on the live policy, 1024 rows per chunk (its fused
        # decode step gains most on large chunks: bench/sampling.py --questions 128).
        policy = load_model(policy_dir, params.model.dtype).to(PartialState().device)
        engine = None if runtime.engine == "hf" else make_engine("lean", model=policy, tokenizer=tokenizer,
                                                                   batch_size=1024)
    else:
        # vLLM loads the saved policy itself; nothing trains here, so it never sleeps.
        policy, engine = None, make_engine(runtime.engine, model_dir=policy_dir, seed=params.seed,
                                           dtype=params.model.dtype, gpu_memory_utilization=runtime.vllm_gpu_memory)
    skipped: Counter[str] = Counter()
    problems = with_prompts(read_problems(str(stage.require_file(args.train)), "rl", skipped), params.prompt, tokenizer)
    # A seeded slice of the training questions, drawn apart from GRPO's per-step draws.
    order = torch.randperm(len(problems), generator=torch.Generator().manual_seed(params.seed + 17)).tolist()
    chosen = [problems[i] for i in order[: cfg.n_questions]]
    solutions = sample_solutions(policy, tokenizer, chosen, cfg.samples_per_question, cfg.max_new_tokens,
                                 cfg.temperature, params.seed, engine=engine)
    hard, soft = shepherd_both(policy, tokenizer, solutions, cfg.shepherd_rollouts, cfg.max_new_tokens,
                               cfg.temperature, params.seed, engine=engine)
    kinds = {"orm": outcome_examples(tokenizer, solutions), "prm": soft if cfg.shepherd_soft else hard}
    step_soft = [y for e in soft for y in e.labels[:-1]]  # the last label is the rule grade in both
    metrics: dict = {"solutions": len(solutions), "questions_by_source": source_counts(chosen),
                     "malformed_lines": malformed(skipped), "prm_labels": "soft" if cfg.shepherd_soft else "hard",
                     "shepherd_rollouts": cfg.shepherd_rollouts,
                     "prm_step_label_mean_soft": sum(step_soft) / max(1, len(step_soft)),
                     "prm_step_label_mean_hard": sum(y > 0 for y in step_soft) / max(1, len(step_soft)),
                     # steps that hard estimation calls good although most continuations fail
                     "prm_steps_hard_good_soft_below_half": sum(0 < y < 0.5 for y in step_soft) / max(1, len(step_soft))}
    for kind, examples in kinds.items():
        train, held = split_heldout(examples, cfg.heldout_frac, params.seed)
        write_jsonl_atomic(f"{args.out_dir}/{kind}/train.jsonl", map(to_record, train))
        write_jsonl_atomic(f"{args.out_dir}/{kind}/heldout.jsonl", map(to_record, held))
        labels = [y for e in examples for y in e.labels]
        metrics[f"{kind}_positions"] = len(labels)
        metrics[f"{kind}_label_mean"] = sum(labels) / len(labels)
        metrics[f"{kind}_heldout_questions"] = len({e.question for e in held})
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("rm_data: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
