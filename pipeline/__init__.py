"""DVC stage entry points: each module parses paths from argv, loads its typed params section, calls the library and writes outputs atomically."""

import os as _os

from pipeline.cpu_kernels import pin_cpu_kernels as _pin_cpu_kernels

# Before anything imports torch: the same CPU kernels on every x86 machine (pipeline/cpu_kernels.py).
_pin_cpu_kernels()

# `python -m pipeline.X` under the runner: handed to its preload server (pipeline/preload.py),
# which forks the stage from already imported libraries; this process then exits with the
# stage's status. Without PIPELINE_PRELOAD nothing happens here.
if _os.environ.get("PIPELINE_PRELOAD"):
    from pipeline.preload_client import delegate as _delegate

    _delegate()
