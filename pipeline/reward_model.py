"""Stage `reward_model@<kind>`: train an outcome (orm) or process (prm) reward model from the SFT
model with BCE at the labelled positions; held-out AUC, accuracy and best-of-N reranking accuracy
(`rl.reward_model.best_of_n`) go to the metrics."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from inputs.jsonl import read_jsonl, rounded
from pipeline import stage

if TYPE_CHECKING:
    from rl.reward_model import RMExample

SUMMARY = ("loss",)  # what DVCLive's metrics.json keeps (training/step_log.py)


def read_examples(path: str, skipped: Counter[str]) -> list[RMExample]:
    from rl.rm_data import from_record  # loads torch: not at module level, so `--help` stays fast

    out = []
    for record in read_jsonl(stage.require_file(path), skipped):
        try:
            out.append(from_record(record))
        except ValueError:
            skipped["bad_rm_example"] += 1
    if not out:
        raise ValueError(f"{path}: no reward-model examples")
    return out


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--init", required=True, help="input: backbone (the SFT model directory)")
    p.add_argument("--train", required=True, help="input: training examples (JSONL from rm_data)")
    p.add_argument("--heldout", required=True, help="input: held-out examples (JSONL from rm_data)")
    stage.add_training_outputs(p)
    args = p.parse_args(argv)
    # Imported after parsing: torch and transformers take seconds, which `--help` should not.
    from accelerate import PartialState

    from pipeline.train_common import (file_digest, fingerprint, finish, load_tokenizer, log_memory, micro_rows,
                                       train_runtime)
    from rl.reward_model import RMLoss, build_reward_model, heldout_metrics
    from training.checkpoint import Checkpointer
    from training.loop import train
    from training.step_log import StepLogger

    params = stage.setup(args.params)
    cfg = params.reward_model
    tokenizer = load_tokenizer(args.init)
    skipped: Counter[str] = Counter()
    train_set, heldout = read_examples(args.train, skipped), read_examples(args.heldout, skipped)
    model = build_reward_model(str(stage.require_file(args.init)))  # float32 master weights
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every,
                        fingerprint(cfg, params.seed, params.model.dtype, file_digest(args.train), file_digest(args.init)))
    log_memory(params, model, "reward_model", rows=micro_rows(cfg.micro_batch_size, cfg.batch_size),
               seq_len=max(len(e.ids) for e in train_set))
    model.to(PartialState().device)  # held-out scoring before training runs on the accelerator too
    logger = StepLogger(args.live, cfg.log_every, cfg.steps, summary=SUMMARY)
    before = heldout_metrics(model, heldout, tokenizer.pad_token_id)
    last = train(model, RMLoss(train_set, cfg.batch_size, tokenizer.pad_token_id, params.seed),
                 cfg.steps, cfg.optim, logger, ckpt, "reward_model", train_runtime(params, cfg.micro_batch_size))
    after = heldout_metrics(model, heldout, tokenizer.pad_token_id)
    # Rounded as every metrics file is (`finish` writes them so), here too for the log line.
    metrics = rounded({**{f"heldout_{k}": v for k, v in after.items()}, "best_of_n_size": after["n"],
                       "heldout_auc_untrained": before["auc"], "heldout_best_of_n_untrained": before["best_of_n"],
                       "final_loss": last.get("loss"), "train_examples": len(train_set), "skipped": dict(skipped)})
    finish(args, model, tokenizer, logger, ckpt, metrics, result=last, dtype=params.model.dtype)
    stage.log.info("reward model: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
