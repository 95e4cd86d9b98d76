"""Switch profiles: validate `profiles/NAME.yaml` against the schema, then make it `params.yaml`.

    python -m pipeline.profile real      # real inputs (Common Crawl samples, GSM8K, MATH), tiny model, 2 CPU cores
    python -m pipeline.profile gpu       # the real profile with a pretrained model and the paper's sizes
    python -m pipeline.profile smoke     # tiny end-to-end check (tests use it)
    git checkout params.yaml             # back to the embedded default

`--data-root PATH` writes PATH, made absolute, as `data.root`: experiments that DVC runs in a
temporary copy of the repo (`dvc exp run --temp`, `--queue`) need an absolute root, since the
default `../shared/data` is relative to the repo and the copy lives under `.dvc/tmp/exps/`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from pipeline.config import ConfigError, load_params

PROFILES = Path("profiles")
_ROOT_LINE = re.compile(r"^(  root: )(\S+)(.*)$", re.MULTILINE)


def with_data_root(text: str, root: str) -> str:
    """The profile text with `data.root` replaced (the first `  root:` line of the data section)."""
    data_at = text.index("\ndata:\n")
    match = _ROOT_LINE.search(text, data_at)
    if match is None:
        raise ValueError("data.root: not found in the profile")
    return text[: match.start(2)] + root + text[match.end(2) :]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = sorted(f.stem for f in PROFILES.glob("*.yaml"))
    p.add_argument("name", choices=names, help="profile to switch to")
    p.add_argument("--params", default="params.yaml", help="file to overwrite (default: params.yaml)")
    p.add_argument("--data-root", help="absolute data.root to write (needed by `dvc exp run --temp/--queue`)")
    args = p.parse_args(argv)
    text = (PROFILES / f"{args.name}.yaml").read_text()
    if args.data_root:
        root = Path(args.data_root).expanduser().resolve()
        if not root.is_dir():
            sys.exit(f"error: --data-root: not a directory: {root}")
        text = with_data_root(text, str(root))
    target = Path(args.params)
    with tempfile.NamedTemporaryFile("w", dir=target.parent or ".", suffix=".yaml", delete=False) as tmp:
        tmp.write(text)
    try:
        load_params(tmp.name)
    except ConfigError as err:
        Path(tmp.name).unlink()
        sys.exit(f"error: {str(err).replace(Path(tmp.name).name, f'profiles/{args.name}.yaml')}")
    Path(tmp.name).replace(target)
    print(f"{args.params} now holds profile '{args.name}'; `dvc repro` reruns what it changes")


if __name__ == "__main__":
    main()
