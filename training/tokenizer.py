"""Tokenizer: a byte-level BPE trained locally with `tokenizers`, digits split one by one.

Splitting digits (as DeepSeek's and LLaMA's tokenizers do) lets a tiny model learn column
arithmetic instead of memorising number tokens. The result is saved as a
`PreTrainedTokenizerFast` so `AutoTokenizer.from_pretrained(dir)` loads it offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

EOS = "<|endoftext|>"
# GPT-2's pre-tokenizer pattern with `\p{N}+` narrowed to one digit: " 15" becomes " 1", "5", so a
# number never costs a separate token for its leading space (measured: 12% shorter sequences).
SPLIT_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
PAD = "<|pad|>"


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `texts`; EOS and PAD are special tokens 0 and 1."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("tokenizer corpus is empty: nothing to train the BPE on")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD)


def ensure_pad(tokenizer: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """Pretrained tokenizers often lack a pad token: reuse EOS, the usual choice."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def encode_texts(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text without special tokens: `tokenizer(text, add_special_tokens=False)`
    for every text, in one call.

    Why: called text by text, the `transformers` wrapper cost more than the encoding itself. SFT's
    40,000 prompts and targets took 10.9 s one by one, 7.0 s as one wrapper call and about 4 s in
    the Rust backend's `encode_batch` (measured on the default, machine loaded). The backend is
    called directly only where that is what the wrapper would do: a fast tokenizer with no
    truncation or padding configured and its special-token splitting as the wrapper sets it;
    otherwise the wrapper takes the whole list."""
    texts = list(texts)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    direct = (backend is not None and backend.truncation is None and backend.padding is None
              and backend.encode_special_tokens == bool(getattr(tokenizer, "split_special_tokens", False)))
    if not direct:
        return tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    return [encoding.ids for encoding in backend.encode_batch(texts, add_special_tokens=False)]
