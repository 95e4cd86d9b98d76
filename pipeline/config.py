"""Strict loading of `params.yaml` (or a profile) into the frozen dataclasses of each package.

Every section of the YAML maps to exactly one dataclass. Unknown keys, missing keys, values of the
wrong type and values a dataclass's own `__post_init__` rejects all stop start-up with one line
that names the file and the dotted key, e.g. `params.yaml: grpo.lr: must be > 0, got -1.0`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from data_selection.config import (
    DecontaminateConfig,
    DedupConfig,
    ExecutorConfig,
    IngestConfig,
    MineConfig,
    WebConfig,
)
from evaluation.config import EvaluateConfig
from evaluation.prompts import FORMATS
from evaluation.synthetic_problems import ProblemsConfig
from inputs.config import DataConfig
from rl.config import GRPOConfig, IterativeConfig, RewardModelConfig
from training.config import ModelConfig, PretrainConfig, RuntimeConfig, SFTConfig, TokenizerConfig

T = TypeVar("T")


class ConfigError(ValueError):
    """A params file that does not match the schema; the message names the file and the key."""


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    """The `world` stage: a synthetic web plus synthetic GSM8K-format problems."""

    web: WebConfig
    problems: ProblemsConfig


@dataclasses.dataclass(frozen=True)
class Params:
    """The whole schema: one field per top-level section of params.yaml."""

    seed: int  # one seed for every stage; each stage derives its own streams from it
    threads: int  # torch intra-op threads on CPU (0 = torch's default)
    prompt: str  # prompt format of SFT, RL, reward-model data and evaluation (evaluation.prompts.FORMATS)
    data: DataConfig  # where each input comes from: synthetic world or real files (inputs/config.py)
    world: WorldConfig
    dedup: DedupConfig
    mine: MineConfig
    decontaminate: DecontaminateConfig
    ingest: IngestConfig  # real crawl files -> pages (pipeline.ingest)
    executor: ExecutorConfig  # where the data stages' shard work runs: local processes or Ray
    tokenizer: TokenizerConfig
    model: ModelConfig
    runtime: RuntimeConfig  # launcher, gradient checkpointing, generation engine (speed and memory only)
    pretrain: PretrainConfig
    sft: SFTConfig
    grpo: GRPOConfig
    reward_model: RewardModelConfig
    iterative: IterativeConfig
    evaluate: EvaluateConfig

    def __post_init__(self) -> None:
        if self.prompt not in FORMATS:
            raise ValueError(f"prompt: must be one of {list(FORMATS)}, got {self.prompt!r}")
        if self.prompt == "chat" and self.tokenizer.pretrained is None:
            raise ValueError("prompt: 'chat' needs a pretrained tokenizer with a chat template "
                             "(tokenizer.pretrained is null; use 'plain' or 'cot')")


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a whole params file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return build(Params, raw, path.name, "")


def build(cls: type[T], raw: Any, filename: str, prefix: str) -> T:
    """Build dataclass `cls` from a mapping, recursing into nested dataclasses."""
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{filename}: {where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{filename}: {prefix}{unknown[0]}: unknown key (expected one of {names})")
    missing = [n for n in names if n not in raw]
    if missing:
        raise ConfigError(f"{filename}: {prefix}{missing[0]}: missing key")
    values = {n: convert(hints[n], raw[n], filename, f"{prefix}{n}") for n in names}
    try:
        return cls(**values)
    except ValueError as err:  # __post_init__ messages start with the field name
        raise ConfigError(f"{filename}: {prefix}{err}") from None


def convert(hint: Any, value: Any, filename: str, key: str) -> Any:
    """Check `value` against a type hint; the only coercion is int -> float."""
    if dataclasses.is_dataclass(hint):
        return build(hint, value, filename, key + ".")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return convert(inner[0], value, filename, key)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{filename}: {key}: must be one of {list(args)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{filename}: {key}: expected a list, got {value!r}")
        return tuple(convert(args[0], v, filename, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        # YAML 1.1 reads `1e-6` (no dot) as a string; accept it rather than surprise people.
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float) and isinstance(value, bool) or not isinstance(value, hint):
        raise ConfigError(
            f"{filename}: {key}: expected {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return value
