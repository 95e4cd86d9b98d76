"""`python -m pipeline.<stage> --help` answers without importing torch, transformers or matplotlib:
the stages import them after parsing, so help and argument errors come back at once."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "matplotlib")

# Runs the stage module as `python -m` would, then reports which heavy modules got imported.
PROBE = """
import runpy, sys
sys.argv = ["{module}", "--help"]
try:
    runpy.run_module("{module}", run_name="__main__", alter_sys=True)
except SystemExit as done:
    assert done.code in (0, None), done.code
print("LOADED", sorted(m for m in {heavy!r} if m in sys.modules))
"""


def stage_modules() -> list[str]:
    """Every `python -m pipeline.X` that dvc.yaml runs (training stages start through the launcher)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    modules = set()
    for stage in stages.values():
        cmd = (stage.get("do") or stage)["cmd"]
        modules.add(cmd.split(" -m ", 1)[1].split()[0])
    return sorted(modules)


def test_every_stage_is_found():
    assert {"pipeline.sft", "pipeline.grpo", "pipeline.evaluate", "pipeline.report", "pipeline.world"} <= set(
        stage_modules())


@pytest.mark.parametrize("module", stage_modules())
def test_help_does_not_import_heavy_libraries(module):
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", f"{module} --help imported them"
