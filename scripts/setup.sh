#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the project with its CPU dependency set.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
# torch is pinned in the same command: an unpinned torch pulls a multi-GB CUDA build on CPU machines.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c constraints/cpu.txt torch==2.13.0 -e ".[dev]"
# Offline by default: no DVC analytics or update checks (also set in .dvc/config).
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
