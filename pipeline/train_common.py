"""Pieces the training stages share: loading a tokenizer + model, saving both atomically."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from accelerate import PartialState
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from evaluation.prompts import read_format, record_format
from inputs.jsonl import write_json_atomic
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
           logger: StepLogger, checkpointer: Checkpointer, metrics: dict, prompt_format: str | None = None) -> None:
    """Close the logs, save the model, then drop the checkpoints and write the final metrics.

    `prompt_format` is recorded in the model directory (evaluation's `model` prompt reads it).
    Under `accelerate launch` only the main process writes; the others have nothing to add."""
    logger.close()
    if not PartialState().is_main_process:
        return
    save_model(model, tokenizer, args.out, prompt_format)
    checkpointer.clear()
    write_json_atomic(args.metrics, metrics)


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(stage.require_file(path))


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out: str,
               prompt_format: str | None = None) -> None:
    """Model, tokenizer and prompt format in one directory, so later stages load from one path."""
    with stage.atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if prompt_format is not None:
            record_format(tmp, prompt_format)
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


def check_init_format(init: str, fmt: str) -> None:
    """A policy trained with one prompt format is not trained further with another."""
    recorded = read_format(init)
    if recorded is not None and recorded != fmt:
        raise ValueError(f"prompt: params say {fmt!r} but {init} was trained with {recorded!r}; "
                         "rerun its training stage or set prompt back")


def source_counts(problems: list[dict]) -> dict[str, int]:
    """Problems per source (gsm8k, math, synthetic, ...), for a stage's metrics."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem["source"]] = counts.get(problem["source"], 0) + 1
    return dict(sorted(counts.items()))


def malformed(counts: dict[str, int]) -> dict[str, int]:
    """The skip reasons of a reader's counts (bad JSON, non-objects, unusable problems)."""
    return {k: v for k, v in sorted(counts.items()) if k.startswith(("bad_", "not_", "skipped_"))}
