"""Stage `sft`: chain-of-thought SFT of the pretrained model on the training problems."""

from __future__ import annotations

from collections import Counter

from inputs.problems import read_problems
from pipeline import stage

SUMMARY = ("loss",)  # what DVCLive's metrics.json keeps (training/step_log.py)


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--train", required=True, help="input: SFT problems (JSONL, the normalised layout of inputs.problems)")
    p.add_argument("--init", required=True, help="input: model directory to start from")
    stage.add_training_outputs(p)
    args = p.parse_args(argv)
    # Imported after parsing: torch and transformers take seconds, which `--help` should not.
    from pipeline.train_common import (file_digest, fingerprint, finish, load_tokenizer, log_memory, malformed,
                                       micro_rows, train_runtime)
    from training.checkpoint import Checkpointer
    from training.loop import train
    from training.model import load_model
    from training.sft import SFTLoss, encode_examples
    from training.step_log import StepLogger

    params = stage.setup(args.params)
    cfg = params.sft
    tokenizer = load_tokenizer(args.init)
    model = load_model(str(stage.require_file(args.init)))  # float32 master weights
    counts: Counter[str] = Counter()
    problems = read_problems(str(stage.require_file(args.train)), "sft", counts)
    examples, kept = encode_examples(problems, tokenizer, cfg.max_len, params.prompt)
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every,
                        fingerprint(cfg, params.prompt, params.seed, params.model.dtype, file_digest(args.train), file_digest(args.init)))
    log_memory(params, model, "sft", rows=micro_rows(cfg.micro_batch_size, cfg.batch_size),
               seq_len=max(len(e.ids) for e in examples))
    logger = StepLogger(args.live, cfg.log_every, cfg.steps, summary=SUMMARY)
    last = train(model, SFTLoss(examples, cfg.batch_size, tokenizer.pad_token_id, params.seed, cfg.length_groups, cfg.packing),
                 cfg.steps, cfg.optim, logger, ckpt, "sft", train_runtime(params, cfg.micro_batch_size))
    finish(args, model, tokenizer, logger, ckpt, {"final_loss": last.get("loss"), "examples": len(examples),
                                     "dropped_too_long": kept["too_long"], "steps": cfg.steps,
                                     "by_source": {k.removeprefix("examples_"): v for k, v in sorted(kept.items())
                                                   if k.startswith("examples_")},
                                     "dropped_missing_solution": kept["missing_solution"],
                                     "malformed_lines": malformed(counts)},
           prompt_format=params.prompt, result=last, dtype=params.model.dtype)


if __name__ == "__main__":
    stage.run(main)
