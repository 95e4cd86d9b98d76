"""Pieces the training stages share: loading a tokenizer + model, saving both atomically."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

from accelerate import PartialState
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from data_selection.jsonl import read_jsonl, write_json_atomic
from pipeline import stage
from training.checkpoint import Checkpointer
from training.model import count_parameters
from training.step_log import StepLogger


def add_output_args(p: argparse.ArgumentParser) -> None:
    """The outputs every training stage writes, so the stages cannot drift apart."""
    p.add_argument("--out", required=True, help="output: model directory (with its tokenizer)")
    p.add_argument("--live", required=True, help="output: DVCLive directory (per-step logs)")
    p.add_argument("--metrics", required=True, help="output: final training metrics (JSON)")
    p.add_argument("--checkpoints", required=True, help="scratch: resumable checkpoints, removed on success")


def finish(args: argparse.Namespace, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
           logger: StepLogger, checkpointer: Checkpointer, metrics: dict) -> None:
    """Close the logs, save the model, then drop the checkpoints and write the final metrics.

    Under `accelerate launch` only the main process writes; the others have nothing to add."""
    logger.close()
    if not PartialState().is_main_process:
        return
    save_model(model, tokenizer, args.out)
    checkpointer.clear()
    write_json_atomic(args.metrics, metrics)


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
