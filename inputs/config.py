"""The `data` section of params.yaml: where each input of the recipe comes from.

Roles and their sources (the synthetic world stays the embedded default and the only place
where mining has ground truth):
  - `web`: pool pages for dedup and mining: `synthetic` (the world stage), `files` (crawl files
    under `root/dir` matching `glob`: WARC, WET, ARC, gzipped or not, JSONL, parquet) or `hub`
    (a hub dataset with `url` and `text` columns, online only);
  - `seed`: the classifier's positive pages: `synthetic`, `problems` (the GSM8K and MATH train
    solutions: an offline stand-in for OpenWebMath, which the paper used), `files` or `hub`
    (e.g. hf:open-web-math/open-web-math@train when online);
  - `sft`, `rl`: SFT examples and RL questions: `synthetic` or `real` (GSM8K train + MATH train
    mixed by `mixture` weights, decontaminated against the benchmarks);
  - `benchmarks`: GSM8K test, MATH test, MATH-500 files under `root` (evaluation and
    decontamination, always).
DVC has no conditionals, so the ingest stage exists only when `web.ingest` lists it; the config
checks that it agrees with `web.source`. `root` is relative to the repo (DVC runs stages there)
or absolute, which experiments in temporary workspaces need (README, "Real data").
"""

from __future__ import annotations

import glob as globlib
from dataclasses import dataclass
from pathlib import Path

from inputs.hub import is_hub_spec, parse_hub_spec

WEB_SOURCES = ("synthetic", "files", "hub")
SEED_SOURCES = ("synthetic", "problems", "files", "hub")
PROBLEM_SOURCES = ("synthetic", "real")


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: must be one of {list(choices)}, got {value!r}")


def _check_remote(name: str, source: str, hub: str | None, glob: str) -> None:
    """Cross-checks shared by the web and seed roles."""
    if source == "hub":
        if not hub:
            raise ValueError(f"hub: must name a dataset (hf:NAME[:CONFIG]@SPLIT) when {name}.source is hub")
        try:
            parse_hub_spec(hub)
        except ValueError as err:
            raise ValueError(f"hub: {err}") from None
    elif hub is not None and not is_hub_spec(hub):
        raise ValueError(f"hub: expected null or hf:NAME[:CONFIG]@SPLIT, got {hub!r}")
    if source == "files" and not glob.strip():
        raise ValueError(f"glob: must match the input files when {name}.source is files")


@dataclass(frozen=True)
class WebSource:
    """Pool pages for dedup and mining."""

    source: str  # synthetic | files | hub
    dir: str  # files: folder under data.root holding them (the ingest stage's DVC dependency)
    glob: str  # files: which files of dir, e.g. "*.warc.gz" (WARC/WET/ARC, .gz or not, JSONL, parquet)
    hub: str | None  # hub: hf:NAME[:CONFIG]@SPLIT with url and text columns (online only)
    ingest: tuple[str, ...]  # [web] unless source is synthetic: makes the ingest stage exist

    def __post_init__(self) -> None:
        _one_of("source", self.source, WEB_SOURCES)
        _check_remote("web", self.source, self.hub, self.glob)
        want = () if self.source == "synthetic" else ("web",)
        if tuple(self.ingest) != want:
            raise ValueError(f"ingest: must be {list(want)} when web.source is {self.source} (DVC has no "
                             f"conditionals: this list is what makes the ingest stage exist), got {list(self.ingest)}")


@dataclass(frozen=True)
class SeedSource:
    """The seed corpus: positive examples of the mining classifier."""

    source: str  # synthetic | problems | files | hub
    dir: str  # files: folder under data.root holding them (the seed stage's DVC dependency)
    glob: str  # files: which files of dir (JSONL/parquet with url and text, or crawl files)
    hub: str | None  # hub: hf:NAME[:CONFIG]@SPLIT, e.g. hf:open-web-math/open-web-math@train
    max_pages: int  # keep at most this many seed pages (0: all)

    def __post_init__(self) -> None:
        _one_of("source", self.source, SEED_SOURCES)
        _check_remote("seed", self.source, self.hub, self.glob)
        if not isinstance(self.max_pages, int) or self.max_pages < 0:
            raise ValueError(f"max_pages: must be an integer >= 0 (0: all), got {self.max_pages!r}")


@dataclass(frozen=True)
class Mixture:
    """Relative weights of the real problem sets (0 leaves one out)."""

    gsm8k: float
    math: float

    def __post_init__(self) -> None:
        for name in ("gsm8k", "math"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.gsm8k + self.math <= 0:
            raise ValueError("gsm8k: the mixture weights must not all be 0")

    def shares(self) -> dict[str, float]:
        total = self.gsm8k + self.math
        return {"gsm8k": self.gsm8k / total, "math": self.math / total}


@dataclass(frozen=True)
class ProblemSource:
    """SFT examples or RL questions."""

    source: str  # synthetic | real
    mixture: Mixture  # real: weights of GSM8K train and MATH train
    max_problems: int  # real: at most this many problems (0: the most the mixture allows without repeats)

    def __post_init__(self) -> None:
        _one_of("source", self.source, PROBLEM_SOURCES)
        if not isinstance(self.max_problems, int) or self.max_problems < 0:
            raise ValueError(f"max_problems: must be an integer >= 0 (0: all), got {self.max_problems!r}")


@dataclass(frozen=True)
class TrainFiles:
    """Real training problem files under data.root (SFT, RL, and the `problems` seed)."""

    gsm8k: str
    math: str


@dataclass(frozen=True)
class BenchmarkFiles:
    """Benchmark files under data.root: evaluation and decontamination."""

    gsm8k: str
    math: str
    math500: str


@dataclass(frozen=True)
class DataConfig:
    root: str  # folder of the real input files: relative to the repo, or absolute
    web: WebSource
    seed: SeedSource
    sft: ProblemSource
    rl: ProblemSource
    train_files: TrainFiles
    benchmarks: BenchmarkFiles

    def path(self, relative: str) -> Path:
        return Path(self.root) / relative

    def real_problems(self) -> bool:
        return "real" in (self.sft.source, self.rl.source)

    def any_real(self) -> bool:
        """True when any role reads real inputs (web, seed, SFT or RL)."""
        return self.real_problems() or self.web.source != "synthetic" or self.seed.source != "synthetic"


def glob_files(root: Path, pattern: str) -> list[Path]:
    """Files under `root` matching `pattern`, sorted (directories are not inputs)."""
    return sorted(Path(p) for p in globlib.glob(str(root / pattern), recursive=True) if Path(p).is_file())


def missing_inputs(cfg: DataConfig) -> list[str]:
    """One line per real input that is not there, naming the param and the path (empty: all found).

    Checked at every stage's start, so `dvc repro` stops at its first stage, before any work.
    Benchmarks are part of it whenever a role is real (they decontaminate real data); with a
    wholly synthetic profile the stages that read them check them.
    """
    problems: list[str] = []
    if cfg.web.source == "files":
        folder = cfg.path(cfg.web.dir)
        if not glob_files(folder, cfg.web.glob):
            problems.append(f"data.web.glob: {cfg.web.glob!r} matches no file in {folder}")
    if cfg.seed.source == "files":
        folder = cfg.path(cfg.seed.dir)
        if not glob_files(folder, cfg.seed.glob):
            problems.append(f"data.seed.glob: {cfg.seed.glob!r} matches no file in {folder}")
    if cfg.real_problems() or cfg.seed.source == "problems":
        for name in ("gsm8k", "math"):
            path = cfg.path(getattr(cfg.train_files, name))
            if not path.is_file():
                problems.append(f"data.train_files.{name}: file not found: {path}")
    if cfg.any_real():
        problems += missing_benchmarks(cfg)
    return problems


def missing_benchmarks(cfg: DataConfig) -> list[str]:
    """One line per benchmark file that is not there, naming the param and the path."""
    out = []
    for name in ("gsm8k", "math", "math500"):
        path = cfg.path(getattr(cfg.benchmarks, name))
        if not path.is_file():
            out.append(f"data.benchmarks.{name}: file not found: {path}")
    return out
