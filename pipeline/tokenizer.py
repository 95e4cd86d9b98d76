"""Stage `tokenizer`: train a byte-level BPE on the mined corpus and the SFT texts (or copy a pretrained one)."""

from __future__ import annotations

from collections import Counter

from inputs.jsonl import read_jsonl
from evaluation.prompts import format_prompt, training_target
from inputs.problems import read_problems
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--corpus", required=True, help="input: decontaminated corpus (JSONL)")
    p.add_argument("--train", required=True, help="input: SFT problems (JSONL, the normalised layout of inputs.problems)")
    p.add_argument("--out", required=True, help="output: tokenizer directory (AutoTokenizer format)")
    args = p.parse_args(argv)
    # Imported after parsing: transformers takes a second, which `--help` should not.
    from training.tokenizer import ensure_pad, train_bpe

    params = stage.setup(args.params, uses_torch=False)
    cfg = params.tokenizer
    if cfg.pretrained is not None:
        from transformers import AutoTokenizer

        tokenizer = ensure_pad(AutoTokenizer.from_pretrained(cfg.pretrained))
    else:
        skipped: Counter[str] = Counter()
        # The tokenizer must cover both corpora: pretraining pages and the SFT/RL format.
        texts = [page["text"] for page in read_jsonl(args.corpus, skipped) if isinstance(page.get("text"), str)]
        texts += [format_prompt(params.prompt, q["question"]) + training_target(q, params.prompt)
                  for q in read_problems(str(stage.require_file(args.train)), "sft", skipped)]
        if not texts:
            raise ValueError(f"{args.corpus} and {args.train} hold no text to train a tokenizer on")
        tokenizer = train_bpe(texts, cfg.vocab_size, cfg.min_frequency)
    with stage.atomic_dir(args.out) as tmp:
        tokenizer.save_pretrained(tmp)
    stage.log.info("tokenizer: %d tokens saved to %s", len(tokenizer), args.out)


if __name__ == "__main__":
    stage.run(main)
