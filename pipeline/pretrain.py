"""Stage `pretrain`: continued pretraining (causal LM) of the tiny or pretrained model on the mined corpus."""

from __future__ import annotations

from collections import Counter

from inputs.jsonl import count_by, read_jsonl
from pipeline import stage

SUMMARY = ("loss",)  # what DVCLive's metrics.json keeps (training/step_log.py)


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--corpus", required=True, help="input: decontaminated corpus (JSONL)")
    p.add_argument("--tokenizer", required=True, help="input: tokenizer directory")
    stage.add_training_outputs(p)
    args = p.parse_args(argv)
    # Imported after parsing: torch and transformers take seconds, which `--help` should not.
    from pipeline.train_common import (file_digest, fingerprint, finish, load_tokenizer, log_memory, micro_rows,
                                       train_runtime)
    from training.checkpoint import Checkpointer
    from training.loop import train
    from training.model import build_model, count_parameters
    from training.pretrain import PretrainLoss, pack_corpus
    from training.step_log import StepLogger

    params = stage.setup(args.params)
    cfg = params.pretrain
    tokenizer = load_tokenizer(args.tokenizer)
    skipped: Counter[str] = Counter()
    texts = [page["text"] for page in read_jsonl(args.corpus, skipped) if isinstance(page.get("text"), str)]
    if not texts:
        raise ValueError(f"{args.corpus}: the corpus is empty")
    model = build_model(params.model, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id, params.seed)
    chunks = pack_corpus(texts, tokenizer, cfg.seq_len)
    ckpt = Checkpointer(args.checkpoints, cfg.checkpoint_every,
                        fingerprint(cfg, params.model, params.seed, file_digest(args.corpus), file_digest(args.tokenizer)))
    log_memory(params, model, "pretrain", rows=micro_rows(cfg.micro_batch_size, cfg.batch_size), seq_len=cfg.seq_len)
    logger = StepLogger(args.live, cfg.log_every, cfg.steps, summary=SUMMARY)
    last = train(model, PretrainLoss(chunks, cfg.batch_size, params.seed), cfg.steps, cfg.optim,
                 logger, ckpt, "pretrain", train_runtime(params, cfg.micro_batch_size))
    finish(args, model, tokenizer, logger, ckpt, {"final_loss": last.get("loss"), "chunks": len(chunks),
                                     "tokens": int(chunks.numel()), "parameters": count_parameters(model),
                                     "steps": cfg.steps, "malformed_lines": dict(skipped),
                                     "pages_by_source": count_by(args.corpus, "source", missing="synthetic")},
           result=last, dtype=params.model.dtype)


if __name__ == "__main__":
    stage.run(main)
