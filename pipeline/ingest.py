"""Stage `ingest`: crawl files (WARC, WET, ARC, JSONL, parquet) and hub datasets -> pages JSONL
with `url`, `text` and `source` (the input's file name, or its hub spec).

One shard per input on the configured executor (local processes or Ray); HTML keeps its math as
LaTeX; every record that is not a page is counted by reason (inputs.crawl), and `by_source`
gives the pages of each input. The output feeds `dedup` in place of the synthetic web:

  python -m pipeline.ingest --input CC-MAIN-...warc.gz [--input 'crawl/*.arc.gz' ...] \\
      [--input hf:NAME[:CONFIG]@SPLIT] --out pages.jsonl --metrics ingest.json

A glob is expanded here (quote it), sorted; a path or glob that matches nothing fails before
any work, naming it. `--from-params` (what dvc.yaml runs) takes the one input from params.yaml's
`data.web` instead: the glob `data.root/web.dir/web.glob`, or the hub spec `web.hub`.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

from data_selection.config import IngestConfig
from data_selection.executors import run_shards
from data_selection.shard_arrays import concat_atomic
from inputs.config import WebSource
from inputs.crawl import ingest_file
from inputs.jsonl import write_metrics_atomic
from inputs.sources import expand_inputs, source_name
from pipeline import stage


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--input", action="append",
                        help="input: crawl file, quoted glob or hf:NAME[:CONFIG]@SPLIT (repeatable)")
    given.add_argument("--from-params", action="store_true", help="input: params.yaml's data.web (files or hub)")
    p.add_argument("--out", required=True, help="output: pages (JSONL)")
    p.add_argument("--metrics", required=True, help="output: counts by reason and pages by source (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params, uses_torch=False)
    inputs = expand_inputs(args.input or [_web_input(params.data.web, params.data.path)])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as parts_dir:
        items = [(source, str(Path(parts_dir) / f"part{i:05d}.jsonl")) for i, source in enumerate(inputs)]
        counts = run_shards(_ingest_item, items, (params.ingest,), params.executor)
        concat_atomic([Path(part) for _, part in items], out)
    total: Counter[str] = sum(counts, Counter())
    by_source: Counter[str] = Counter()
    for source, shard_counts in zip(inputs, counts):
        by_source[source_name(source)] += shard_counts["pages"]
    metrics = {"files": len(inputs), **dict(sorted(total.items())), "by_source": dict(sorted(by_source.items()))}
    if not total["pages"]:
        raise ValueError(f"no usable pages in {inputs}: {metrics}")
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("ingest: %s", metrics)


def _web_input(web: WebSource, path: Callable[[str], Path]) -> str:
    """The one input `data.web` names: a hub spec, or the glob of its files."""
    if web.source == "hub":
        return web.hub
    if web.source == "files":
        return str(path(web.dir) / web.glob)
    raise ValueError(f"--from-params: data.web.source is {web.source!r}: no crawl to ingest (files or hub)")


def _ingest_item(item: tuple[str, str], cfg: IngestConfig) -> Counter[str]:
    return ingest_file(item[0], item[1], cfg)


if __name__ == "__main__":
    stage.run(main)
