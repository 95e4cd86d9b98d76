"""Stage `grpo@<variant>`: GRPO (§4.1) from the SFT model, with the SFT model as the KL reference."""

from __future__ import annotations

from collections import Counter

from pipeline import stage
from pipeline.train_common import add_output_args, file_digest, fingerprint, finish, load_tokenizer, read_problems
from rl.advantages import get_estimator
from rl.grpo import train_grpo
from training.checkpoint import Checkpointer
from training.model import load_model
from training.step_log import StepLogger


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--advantage", required=True, help="registered advantage estimator, e.g. outcome")
    p.add_argument("--train", required=True, help="input: RL questions (JSONL, GSM8K layout)")
    p.add_argument("--init", required=True, help="input: policy to start from (also pi_ref)")
    add_output_args(p)
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    cfg = params.grpo
    get_estimator(args.advantage)  # fail before loading anything
    tokenizer = load_tokenizer(args.init)
    policy = load_model(str(stage.require_file(args.init)), params.model.dtype)
    ref = load_model(args.init, params.model.dtype) if cfg.beta > 0 else None
    skipped: Counter[str] = Counter()
    problems = read_problems(args.train, skipped)
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every,
                        fingerprint(cfg, args.advantage, params.seed, file_digest(args.train), file_digest(args.init)))
    logger = StepLogger(args.live, cfg.log_every, cfg.steps)
    last = train_grpo(policy, ref, tokenizer, problems, cfg, args.advantage, params.seed, logger, ckpt)
    finish(args, policy, tokenizer, logger, ckpt, {**last, "steps": cfg.steps, "malformed_lines": dict(skipped)})


if __name__ == "__main__":
    stage.run(main)
