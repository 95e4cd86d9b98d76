"""Continued pretraining: causal-LM loss on the mined corpus, packed into fixed-length chunks.

As in the paper's continued pretraining (§2.2), documents are concatenated with an EOS between
them and cut into equal chunks; no document boundary masking (standard practice, not stated).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import PreTrainedTokenizerBase

from training.loop import draw_indices, micro_batches
from training.tokenizer import encode_texts


def pack_corpus(texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, seq_len: int) -> torch.Tensor:
    """Token chunks of shape (n_chunks, seq_len); the remainder of the stream is dropped."""
    stream: list[int] = []
    # One tokenizer call per 1024 texts: fast (training.tokenizer.encode_texts), and it bounds the id lists held at once.
    for batch in micro_batches(list(texts), 1024):
        for ids in encode_texts(tokenizer, batch):
            stream.extend(ids)
            stream.append(tokenizer.eos_token_id)
    n_chunks = len(stream) // seq_len
    if n_chunks == 0:
        raise ValueError(f"corpus too small: {len(stream)} tokens, less than one chunk of seq_len={seq_len}")
    return torch.tensor(stream[: n_chunks * seq_len], dtype=torch.long).view(n_chunks, seq_len)


class PretrainLoss:
    """Causal-LM loss on packed chunks; the batch of a step is drawn by a (seed, step) generator
    (`training.loop.BatchLoss`). Every chunk has seq_len - 1 predicted tokens."""

    def __init__(self, chunks: torch.Tensor, batch_size: int, seed: int) -> None:
        self.chunks, self.batch_size, self.seed = chunks, batch_size, seed

    def draw(self, step: int) -> list[int]:
        return draw_indices(len(self.chunks), self.batch_size, self.seed, step)

    def count(self, items: list[int]) -> float:
        return float(len(items) * (self.chunks.shape[1] - 1))

    def loss(self, model: torch.nn.Module, items: list[int], total: float | None) -> torch.Tensor:
        batch = self.chunks[items].to(next(model.parameters()).device)
        if total is None:
            return model(input_ids=batch, labels=batch).loss
        # transformers sums the token losses and divides by num_items_in_batch: a micro-batch's
        # share of the whole batch's mean (its gradient-accumulation contract).
        return model(input_ids=batch, labels=batch, num_items_in_batch=torch.tensor(total)).loss
