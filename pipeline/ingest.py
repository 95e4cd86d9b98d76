"""Stage `ingest`: real crawl files (WARC, WET, JSONL, parquet) -> pages JSONL with `url` and `text`.

One shard per input file, run on the configured executor (local processes or Ray); HTML keeps
its math as LaTeX; bad records are skipped and counted by reason. The output feeds `dedup`
in place of the synthetic web:

  python -m pipeline.ingest --input CC-MAIN-...warc.gz [--input more ...] --out pages.jsonl \\
      --metrics ingest.json
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

from data_selection.executors import run_shards
from data_selection.jsonl import write_json_atomic
from data_selection.readers import detect_format, ingest_file
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--input", required=True, action="append", help="input: crawl file (repeatable)")
    p.add_argument("--out", required=True, help="output: pages (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts by reason (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params)
    inputs = [str(stage.require_file(path)) for path in args.input]
    for path in inputs:
        detect_format(path)  # fail on an unknown format before any work
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as parts_dir:
        items = list(zip(inputs, [str(Path(parts_dir) / f"part{i:05d}.jsonl") for i in range(len(inputs))]))
        counts = run_shards(_ingest_item, items, (params.ingest,), params.executor)
        tmp = Path(parts_dir) / "all.jsonl"
        with tmp.open("wb") as dst:
            for _, part in items:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, dst)
        tmp.replace(out)  # same directory: an atomic rename
    total: Counter[str] = sum(counts, Counter())
    metrics = {"files": len(inputs), **dict(sorted(total.items()))}
    if not total["pages"]:
        raise ValueError(f"no usable pages in {inputs}: {metrics}")
    write_json_atomic(args.metrics, metrics)
    stage.log.info("ingest: %s", metrics)


def _ingest_item(item: tuple[str, str], cfg) -> Counter[str]:
    return ingest_file(item[0], item[1], cfg)


if __name__ == "__main__":
    stage.run(main)
