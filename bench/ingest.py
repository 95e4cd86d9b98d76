"""Crawl reading speed: inputs.crawl against the previous reader and against fastwarc, same file.

The input is the Common Crawl sample (50 records, 16 HTML pages) repeated into one bigger file
(its records are separate gzip members, so copies concatenate into a valid WARC). Prints, in one
run, records/s (all WARC records of the file over the wall time) of:
- full reading (framing, HTTP, charset, HTML to text): ours vs the previous fastwarc-based
  reader (``git show HEAD:data_selection/readers.py``, if git still has it), as a ratio;
- framing only: ours (``inputs.warc``, block digests checked) vs fastwarc's iterator reading every
  block, as a ratio.

  python bench/ingest.py [--copies 40] [--repeats 3] [--sample PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Callable

from data_selection.config import IngestConfig
from inputs.byte_stream import ByteStream
from inputs.crawl import iter_pages
from inputs.warc import iter_warc_records

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "web" / "CC-MAIN-2020-34-sample.resiliparse.warc.gz"
CFG = IngestConfig(min_chars=200, max_bytes=5_000_000, keep_math_markup=True)


def previous_reader() -> types.ModuleType | None:
    """The reader as committed before this rewrite, or None when git cannot show it."""
    done = subprocess.run(["git", "show", "HEAD:data_selection/readers.py"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    source = done.stdout.replace("data_selection.html_text", "inputs.html_text").replace(
        "data_selection.jsonl", "inputs.jsonl")  # the modules it imported have moved to inputs/
    module = types.ModuleType("previous_readers")
    exec(compile(source, "HEAD:data_selection/readers.py", "exec"), module.__dict__)
    return module


def timed(fn: Callable[[], int], repeats: int) -> tuple[int, float]:
    """(result, fastest wall time of ``repeats`` runs): the minimum is the least disturbed by
    other work on a shared machine."""
    best, n = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return n, best


def fastwarc_blocks(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    n = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh, parse_http=False):
            record.reader.read()
            n += 1
    return n


def our_blocks(path: Path) -> int:
    counts: Counter[str] = Counter()
    with path.open("rb") as fh:
        return sum(1 for _ in iter_warc_records(ByteStream(fh, counts), CFG.max_bytes, counts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--copies", type=int, default=40)
    p.add_argument("--sample", type=Path, default=SAMPLE)
    p.add_argument("--repeats", type=int, default=3, help="runs of each reader; the fastest counts")
    args = p.parse_args()
    if not args.sample.is_file():
        sys.exit(f"sample not found: {args.sample}")
    data = args.sample.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.warc.gz"
        path.write_bytes(data * args.copies)
        records = our_blocks(path)
        print(f"input: {args.sample.name} x{args.copies} = {records} records, {path.stat().st_size / 2**20:.1f} MiB")
        ours_pages, t_ours = timed(lambda: sum(1 for _ in iter_pages(path, CFG, Counter())), args.repeats)
        old = previous_reader()
        if old is None:
            print("full reading: previous reader unavailable (git show failed)")
        else:
            old_pages, t_old = timed(lambda: sum(1 for _ in old.iter_pages(path, CFG, Counter())), args.repeats)
            print(f"full reading: ours {records / t_ours:,.0f} records/s ({ours_pages} pages), previous "
                  f"{records / t_old:,.0f} records/s ({old_pages} pages), ratio ours/previous {t_old / t_ours:.2f}")
        n_fw, t_fw = timed(lambda: fastwarc_blocks(path), args.repeats)
        n_us, t_us = timed(lambda: our_blocks(path), args.repeats)
        assert n_fw == n_us == records, (n_fw, n_us, records)
        print(f"framing only: ours {records / t_us:,.0f} records/s, fastwarc {records / t_fw:,.0f} records/s, "
              f"ratio ours/fastwarc {t_fw / t_us:.2f}")


if __name__ == "__main__":
    main()
