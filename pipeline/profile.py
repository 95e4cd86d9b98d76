"""Switch profiles: validate `profiles/NAME.yaml` against the schema, then make it `params.yaml`.

    python -m pipeline.profile smoke     # tiny end-to-end check (tests use it)
    python -m pipeline.profile gpu       # pretrained model, vLLM, the paper's GRPO settings
    git checkout params.yaml             # back to the embedded default
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipeline.config import ConfigError, load_params

PROFILES = Path("profiles")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = sorted(f.stem for f in PROFILES.glob("*.yaml"))
    p.add_argument("name", choices=names, help="profile to switch to")
    p.add_argument("--params", default="params.yaml", help="file to overwrite (default: params.yaml)")
    args = p.parse_args(argv)
    source = PROFILES / f"{args.name}.yaml"
    try:
        load_params(source)
    except ConfigError as err:
        sys.exit(f"error: {err}")
    tmp = Path(args.params).with_suffix(".yaml.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(args.params)
    print(f"{args.params} now holds profile '{args.name}'; `dvc repro` reruns what it changes")


if __name__ == "__main__":
    main()
