"""Stage `sft`: chain-of-thought SFT of the pretrained model on the training problems."""

from __future__ import annotations

from collections import Counter

from pipeline import stage
from inputs.problems import read_problems
from pipeline.train_common import add_output_args, file_digest, fingerprint, finish, load_tokenizer, malformed
from training.checkpoint import Checkpointer
from training.loop import train
from training.model import load_model
from training.sft import encode_examples, sft_loss_fn
from training.step_log import StepLogger


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--train", required=True, help="input: SFT problems (JSONL, the normalised layout of inputs.problems)")
    p.add_argument("--init", required=True, help="input: model directory to start from")
    add_output_args(p)
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    cfg = params.sft
    tokenizer = load_tokenizer(args.init)
    model = load_model(str(stage.require_file(args.init)), params.model.dtype)
    counts: Counter[str] = Counter()
    problems = read_problems(str(stage.require_file(args.train)), "sft", counts)
    examples, kept = encode_examples(problems, tokenizer, cfg.max_len, params.prompt)
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every,
                        fingerprint(cfg, params.prompt, params.seed, file_digest(args.train), file_digest(args.init)))
    logger = StepLogger(args.live, cfg.log_every, cfg.steps)
    last = train(model, sft_loss_fn(examples, cfg.batch_size, tokenizer.pad_token_id, params.seed),
                 cfg.steps, cfg.optim, logger, ckpt, "sft")
    finish(args, model, tokenizer, logger, ckpt, {"final_loss": last.get("loss"), "examples": len(examples),
                                     "dropped_too_long": kept["too_long"], "steps": cfg.steps,
                                     "by_source": {k.removeprefix("examples_"): v for k, v in sorted(kept.items())
                                                   if k.startswith("examples_")},
                                     "dropped_missing_solution": kept["missing_solution"],
                                     "malformed_lines": malformed(counts)},
           prompt_format=params.prompt)


if __name__ == "__main__":
    stage.run(main)
