"""Pieces the training stages share: loading a tokenizer + model, saving both atomically."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from data_selection.jsonl import read_jsonl
from pipeline import stage
from training.model import count_parameters


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(stage.require_file(path))


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out: str) -> None:
    """Model and tokenizer in one directory, so every later stage loads from a single path."""
    with stage.atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    stage.log.info("saved %s (%.2fM parameters)", out, count_parameters(model) / 1e6)


def fingerprint(*parts: object) -> str:
    """Identity of a run's settings and inputs, so a stale checkpoint is never resumed."""
    return hashlib.sha256(json.dumps([repr(p) for p in parts]).encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """Digest of an input file (or of a directory's files), for checkpoint fingerprints."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def read_problems(path: str, skipped: Counter[str]) -> list[dict]:
    """GSM8K-layout problems; records without string `question` and `answer` are counted, not used."""
    problems = []
    for record in read_jsonl(stage.require_file(path), skipped):
        if isinstance(record.get("question"), str) and isinstance(record.get("answer"), str):
            problems.append(record)
        else:
            skipped["missing_question_or_answer"] += 1
    if not problems:
        raise ValueError(f"{path}: no problems with `question` and `answer`")
    return problems
