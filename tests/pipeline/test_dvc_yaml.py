"""dvc.yaml as DVC reads it: stages depend on params leaves, every knob that changes results is one
of them; metrics and plots are small files in git, each curve declared once."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# Knobs of speed, memory and resumption: no stage depends on them, so changing one reruns nothing
# (dvc.yaml's header says why each cannot change a result).
NOT_RESULTS = {"threads", "executor", "runtime.launcher", "runtime.vllm_gpu_memory", "runtime.vllm_sleep",
               "pretrain.checkpoint_every", "sft.checkpoint_every", "grpo.checkpoint_every",
               "reward_model.checkpoint_every", "evaluate.grading_workers"}


@pytest.fixture(scope="module")
def repo():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as dvc_repo:
        yield dvc_repo


def leaves(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        out += leaves(value, name + ".") if isinstance(value, dict) and value else [name]
    return out


def covered(leaf: str, names: set[str]) -> bool:
    """`leaf` or a section above it is in `names`."""
    parts = leaf.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts) + 1))


def stage_params(repo) -> dict[str, list[str]]:
    from dvc.dependency.param import ParamsDependency

    return {stage.addressing: [p for dep in stage.deps if isinstance(dep, ParamsDependency) for p in dep.params]
            for stage in repo.index.stages}


def written_params() -> set[str]:
    """Params as written in dvc.yaml, so that a stage a profile does not instantiate (ingest, a
    foreach over an empty list) counts too."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {p for stage in stages.values() for p in (stage.get("do") or stage).get("params", [])
            if isinstance(p, str) and "$" not in p}


def test_every_param_that_changes_results_is_a_stage_dependency(repo):
    declared = {p for params in stage_params(repo).values() for p in params} | written_params()
    # dvc.yaml's own templating (${data.root}, foreach over ${data.benchmarks}) reads the rest of `data`.
    templated = set(re.findall(r"\$\{([\w.]+)\}", (ROOT / "dvc.yaml").read_text()))
    every = leaves(yaml.safe_load((ROOT / "params.yaml").read_text()))
    unread = [leaf for leaf in every if not covered(leaf, declared | templated | NOT_RESULTS)]
    assert not unread, f"params no stage depends on: {unread} (add them to a stage, or to NOT_RESULTS with a reason)"
    stale = [p for p in declared if p not in every and not any(leaf.startswith(p + ".") for leaf in every)]
    assert not stale, f"stages depend on params that do not exist: {stale}"


def test_speed_knobs_rerun_nothing(repo):
    for name, params in stage_params(repo).items():
        assert not [p for p in params if covered(p, NOT_RESULTS)], name


def test_no_stage_depends_on_a_section_that_mixes_in_speed_knobs(repo):
    sections = {leaf.rsplit(".", i)[0] for leaf in NOT_RESULTS for i in range(1, leaf.count(".") + 1)}
    for name, params in stage_params(repo).items():
        assert not sections & set(params), f"{name} depends on a whole section with a speed knob in it"


def test_metrics_and_plots_are_in_git_and_plotted_once(repo):
    outs = {out.def_path: out for out in repo.index.outs}
    for path, out in outs.items():
        if out.metric or out.plot:
            assert not out.use_cache, f"{path}: metrics and plots must be `cache: false` (in git)"
        assert not out.plot, f"{path}: curves are declared once, in the top-level plots"
    top = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    files = []
    for entry in top:
        if isinstance(entry, str):
            files.append(entry)
        else:
            (definition,) = entry.values()
            files += list(definition["y"])
    for file in files:
        owner = [p for p in outs if file == p or file.startswith(p + "/")]
        assert owner, f"{file}: plotted but no stage writes it"
        assert not outs[owner[0]].use_cache, f"{file}: plotted from a cached output (absent from a fresh clone)"


def test_detailed_tables_are_outputs_not_metrics(repo):
    """`dvc exp show` has a column per metric leaf: big nested tables stay files the report reads."""
    outs = {out.def_path: out for out in repo.index.outs}
    for path in ("metrics/eval/sft.json", "metrics/grpo/outcome.json", "metrics/mine.json",
                 "metrics/decontaminate.json", "metrics/sft.json"):
        assert not outs[path].metric and not outs[path].use_cache, path
    for path in ("metrics/headline/sft.json", "dvclive/grpo/outcome/metrics.json", "dvclive/sft/metrics.json"):
        assert outs[path].metric, path


PACKAGES = {"pipeline", "inputs", "data_selection", "training", "rl", "evaluation", "generation"}
# The params schemas (params.yaml, and its `data` section with the check that real input files
# exist): they reject bad params and absent files but change no value (every key is required,
# none has a default), and the values reach a stage as its params dependencies. Declaring them
# would rerun the whole DAG on a schema edit.
SCHEMA = {"pipeline.config", "inputs.config"}


def module_file(module: str) -> Path | None:
    for path in (ROOT / (module.replace(".", "/") + ".py"), ROOT / module.replace(".", "/") / "__init__.py"):
        if path.is_file():
            return path
    return None


def code_run_by(entry: str) -> set[Path]:
    """The repository's module files a stage runs: what its entry module imports anywhere (a
    stage's main imports its heavy code lazily), and what those modules import at module level,
    transitively. A helper's own lazy imports are left out: they run only for the stages that
    call the helper (train_common's sampler, for RL), which declare them through the entry."""
    import ast

    seen: dict[str, Path] = {}
    todo = [(entry, True)]
    while todo:
        module, anywhere = todo.pop()
        path = module_file(module)
        if module in seen or path is None:
            continue
        seen[module] = path
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree) if anywhere else tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            todo += [(n, False) for n in names if n.split(".")[0] in PACKAGES and n not in SCHEMA]
    return {path for path in seen.values() if path.name != "__init__.py"}


def test_every_module_a_stage_runs_is_a_dependency(repo):
    """Editing code that a stage runs reruns the stage: the shared helpers of pipeline/ (stage.py's
    seeding and threads, train_common.py), the JSONL writer, the prompts, the decontamination the
    seed stage applies, ... are deps of every stage that runs them, as a file or a folder above it."""
    missing = {}
    for stage in repo.index.stages:
        entry = re.search(r"-m (pipeline\.\w+)", stage.cmd or "")
        if not entry:
            continue
        declared = [Path(str(dep.fs_path)).resolve() for dep in stage.deps if not hasattr(dep, "params")]
        lacking = sorted(str(f.relative_to(ROOT)) for f in code_run_by(entry.group(1))
                         if not any(f == d or d in f.parents for d in declared))
        if lacking:
            missing[stage.addressing] = lacking
    assert not missing, missing
