"""Stage `seed`: the seed corpus, the mining classifier's positive pages (paper §2.1: OpenWebMath).

`data.seed.source` chooses it: the world's synthetic seed; `problems`, the GSM8K and MATH train
problems with their solutions as pages (an offline stand-in for OpenWebMath: math text written
by people, though shorter and more uniform than web pages); crawl/JSONL/parquet files under
`data.root/dir` matching `glob`; or a hub dataset (e.g. hf:open-web-math/open-web-math@train,
online). Pages are `{url, text, source}`; metrics count them per source.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Iterator

from tqdm import tqdm

from inputs.config import glob_files
from inputs.crawl import iter_pages
from inputs.hub import iter_hub_rows
from inputs.jsonl import read_jsonl, write_jsonl_atomic, write_metrics_atomic
from pipeline import stage
from pipeline.problems import read_train_file


def problem_pages(gsm8k: str, math: str, counts: dict[str, Counter[str]]) -> Iterator[dict]:
    for name, path in (("gsm8k", gsm8k), ("math", math)):
        counts[name] = Counter()
        for problem in read_train_file(name, path, counts[name]):
            yield {"url": f"problem://{name}/{problem['id']}", "text": f"{problem['question']}\n\n{problem['solution']}",
                   "source": name}


def _pages(params, args, counts: dict[str, Counter[str]]) -> Iterator[dict]:
    cfg = params.data.seed
    if cfg.source == "synthetic":
        counts["synthetic"] = Counter()
        for page in read_jsonl(stage.require_file(args.synthetic), counts["synthetic"]):
            yield {**page, "source": "synthetic"} if "source" not in page else page
    elif cfg.source == "problems":
        yield from problem_pages(args.gsm8k, args.math, counts)
    elif cfg.source == "files":
        # Seed pages are kept whatever their length: they are training text, not a crawl to filter.
        ingest = replace(params.ingest, min_chars=0)
        for path in glob_files(params.data.path(cfg.dir), cfg.glob):
            counts[path.name] = Counter()
            yield from iter_pages(path, ingest, counts[path.name])
    else:
        counts[cfg.hub] = Counter()
        for row in iter_hub_rows(cfg.hub):
            if isinstance(row.get("text"), str) and row["text"].strip():
                yield {"url": str(row.get("url") or f"{cfg.hub}#{counts[cfg.hub]['records']}"), "text": row["text"],
                       "source": cfg.hub}
            else:
                counts[cfg.hub]["skipped_missing_text"] += 1
            counts[cfg.hub]["records"] += 1


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--synthetic", required=True, help="input: the world's seed pages (JSONL)")
    p.add_argument("--gsm8k", required=True, help="input: GSM8K train (JSONL), read when the source is `problems`")
    p.add_argument("--math", required=True, help="input: MATH train (JSONL), read when the source is `problems`")
    p.add_argument("--out", required=True, help="output: seed pages with url, text, source (JSONL)")
    p.add_argument("--metrics", required=True, help="output: pages per source, skips per reason (JSON)")
    args = p.parse_args(argv)
    params = stage.setup(args.params, uses_torch=False)
    cfg = params.data.seed
    counts: dict[str, Counter[str]] = {}
    read = tqdm(_pages(params, args, counts), desc="seed: pages", unit="page", mininterval=2)
    pages = [page for page in read if isinstance(page.get("text"), str)]
    if cfg.max_pages and len(pages) > cfg.max_pages:
        # A seeded sample, in input order, so the seed does not depend on how the sources are listed.
        keep = sorted(random.Random(params.seed).sample(range(len(pages)), cfg.max_pages))
        pages = [pages[i] for i in keep]
    if not pages:
        raise ValueError(f"data.seed: no seed pages from source {cfg.source!r} ({ {k: dict(v) for k, v in counts.items()} })")
    n = write_jsonl_atomic(args.out, pages)
    metrics = {"source": cfg.source, "pages": n, "by_source": dict(sorted(Counter(p["source"] for p in pages).items())),
               "counts": {name: dict(sorted(c.items())) for name, c in counts.items()}}
    write_metrics_atomic(args.metrics, metrics)
    stage.log.info("seed: %s", metrics)


if __name__ == "__main__":
    stage.run(main)
