"""Stage `grpo@<variant>`: an online RL method from the SFT model, which is also pi_ref.

GRPO with outcome or process supervision (§4.1.2, §4.1.3), Online RFT (§5.2.1), or iterative RL
(§4.1.4), as named in `rl/methods.py`. Methods with a model reward take `--reward-model`;
iterative RL also takes `--rm-data`, the reward model's training data, replayed at 10%, and
`--rm-heldout` to log the reward model's quality after every refresh. Methods with a model
reward run with `grpo.model_reward`'s lr, beta and steps and under the drift guard
(`rl/guard.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from evaluation.prompts import with_prompts
from inputs.problems import read_problems
from pipeline import stage
from pipeline.reward_model import read_examples
from rl.methods import METHODS, get_method

# What DVCLive's metrics.json keeps (training/step_log.py): the run's last loss, reward, rule
# accuracy and KL; the other per-step figures stay in its plots.
SUMMARY = ("loss", "reward_mean", "accuracy", "kl")


def load_reward_model(path: str | None, method: str, dtype: str, trains: bool):
    """The reward model on this process's device: in the compute dtype when it only scores,
    float32 when iterative RL trains it further (master weights)."""
    from accelerate import PartialState
    from transformers import AutoModelForTokenClassification

    from training.model import torch_dtype

    if path is None:
        raise ValueError(f"method {method!r} needs --reward-model DIR")
    model = AutoModelForTokenClassification.from_pretrained(str(stage.require_file(path)),
                                                            dtype=torch_dtype("float32" if trains else dtype))
    return model.to(PartialState().device)


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--method", required=True, choices=sorted(METHODS), help="RL method (rl/methods.py)")
    p.add_argument("--train", required=True, help="input: RL questions (JSONL, the normalised layout of inputs.problems)")
    p.add_argument("--init", required=True, help="input: policy to start from (also pi_ref)")
    p.add_argument("--reward-model", help="input: reward model directory (methods with an ORM or PRM reward)")
    p.add_argument("--rm-data", help="input: the reward model's training data (iterative RL's replay history)")
    p.add_argument("--rm-heldout", help="input: the reward model's held-out data (iterative RL logs its quality "
                   "after each refresh)")
    stage.add_training_outputs(p)
    args = p.parse_args(argv)
    # Imported after parsing: torch and transformers take seconds, which `--help` should not.
    from accelerate import PartialState

    from pipeline.train_common import (check_init_format, file_digest, fingerprint, finish, load_tokenizer,
                                       log_memory, make_rollout_engine, malformed, micro_rows, source_counts,
                                       train_runtime)
    from rl.grpo import train_grpo
    from rl.guard import AgreementGuard
    from rl.iterative import IterativeSetup, iterative_rl
    from rl.scoring import RewardModelScorer, RuleScorer
    from training.checkpoint import Checkpointer
    from training.model import load_model
    from training.step_log import StepLogger
    from training.tokenizer import encode_texts

    params = stage.setup(args.params)
    method = get_method(args.method)
    # The paper's process estimator can be swapped for an ablation by params (grpo.process_advantage).
    advantage = params.grpo.process_advantage if method.advantage == "process" else method.advantage
    cfg = params.grpo if method.reward == "rule" else params.grpo.for_model_reward()
    cfg = cfg if method.kl else replace(cfg, beta=0.0)  # Online RFT: no KL (Table 10)
    # The drift guard watches reward-model runs; a rule reward agrees with the rule by definition.
    guard = None if method.reward == "rule" else AgreementGuard(cfg.model_reward.min_agreement,
                                                                  cfg.model_reward.agreement_window)
    tokenizer = load_tokenizer(args.init)
    check_init_format(args.init, params.prompt)
    policy = load_model(str(stage.require_file(args.init)))  # float32 master weights
    rm = None if method.reward == "rule" else load_reward_model(args.reward_model, args.method, params.model.dtype,
                                                                  trains=method.iterative)
    runtime = train_runtime(params, 0)  # GRPO's micro-batches are grpo.micro_batch_size
    engine = make_rollout_engine(params, args.init, policy, tokenizer, cfg.questions_per_step * cfg.group_size)
    skipped: Counter[str] = Counter()
    problems = with_prompts(read_problems(str(stage.require_file(args.train)), "rl", skipped), params.prompt, tokenizer)
    longest = max(map(len, encode_texts(tokenizer, [q["prompt"] for q in problems[:2000]])))
    length = longest + cfg.max_new_tokens
    log_memory(params, policy, "grpo", rows=micro_rows(cfg.micro_batch_size, cfg.questions_per_step * cfg.group_size),
               seq_len=length, sampling=(cfg.questions_per_step * cfg.group_size, length))
    inputs = [args.train, args.init] + [x for x in (args.reward_model, args.rm_data) if x]
    fp = fingerprint(cfg, method, params.reward_model, params.iterative, params.prompt, params.seed, params.model.dtype,
                     *map(file_digest, inputs))
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every, fp)
    if method.iterative:
        if args.rm_data is None:
            raise ValueError(f"method {args.method!r} needs --rm-data FILE")
        it = params.iterative
        logger = StepLogger(args.live, cfg.log_every, it.steps_per_iteration,  # steps counted per iteration
                            summary=SUMMARY)
        heldout = read_examples(args.rm_heldout, skipped) if args.rm_heldout else []
        setup = IterativeSetup(cfg, params.reward_model, it, advantage, params.seed, fp, runtime, engine, guard,
                               heldout)
        result = iterative_rl(policy, rm, tokenizer, problems, read_examples(args.rm_data, skipped), setup, logger,
                              Path(args.checkpoints))
        total = it.iterations * it.steps_per_iteration
        last = {**result, "steps": total, "steps_run": result.get("stop_step", total + 1) - 1}
    else:
        ref = load_model(args.init, params.model.dtype) if cfg.beta > 0 else None  # pi_ref may stay in bf16
        scorer = RuleScorer() if rm is None else RewardModelScorer(rm, tokenizer, process=method.reward == "prm",
                                                                   rule_outcome=method.rule_outcome,
                                                                   shared_prompt=runtime.shared_prompt)
        logger = StepLogger(args.live, cfg.log_every, cfg.steps, summary=SUMMARY)
        result = train_grpo(policy, ref, tokenizer, problems, cfg, advantage, scorer, params.seed, logger, ckpt,
                            runtime, engine, guard)
        # A stopped run made stop_step - 1 updates; its saved policy is the one of kept_step.
        last = {**result, "steps": cfg.steps, "steps_run": result.get("stop_step", cfg.steps + 1) - 1}
    finish(args, policy, tokenizer, logger, ckpt,
           {**last, "processes": PartialState().num_processes, "questions_by_source": source_counts(problems),
            "malformed_lines": malformed(skipped)},
           prompt_format=params.prompt, result=result, dtype=params.model.dtype)


if __name__ == "__main__":
    stage.run(main)
