"""Continued pretraining: causal-LM loss on the mined corpus, packed into fixed-length chunks.

As in the paper's continued pretraining (§2.2), documents are concatenated with an EOS between
them and cut into equal chunks; no document boundary masking (standard practice, not stated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from transformers import PreTrainedTokenizerBase


def pack_corpus(texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, seq_len: int) -> torch.Tensor:
    """Token chunks of shape (n_chunks, seq_len); the remainder of the stream is dropped."""
    stream: list[int] = []
    for text in texts:
        stream.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        stream.append(tokenizer.eos_token_id)
    n_chunks = len(stream) // seq_len
    if n_chunks == 0:
        raise ValueError(f"corpus too small: {len(stream)} tokens, less than one chunk of seq_len={seq_len}")
    return torch.tensor(stream[: n_chunks * seq_len], dtype=torch.long).view(n_chunks, seq_len)


def pretrain_loss_fn(chunks: torch.Tensor, batch_size: int, seed: int) -> Callable[[torch.nn.Module, int, int], torch.Tensor]:
    """`(model, step, rank) -> loss` on a batch drawn by a generator seeded with (seed, step, rank)."""

    def batch_loss(model: torch.nn.Module, step: int, rank: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step + rank * 7_919)
        idx = torch.randint(len(chunks), (batch_size,), generator=gen)
        batch = chunks[idx].to(next(model.parameters()).device)
        return model(input_ids=batch, labels=batch).loss

    return batch_loss
