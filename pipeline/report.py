"""Stage `report`: Markdown tables of every model on every benchmark, the paper's RL findings
checked against them (`evaluation/findings.py`: the paper's 2x2, path-check and collapse rules,
ablations beyond the paper), the reward models' held-out quality, the RL runs' final values, and
the paper's Fig. 7 view (pass@K and maj@K against K, one row per benchmark, one line per model) as
PNG."""

from __future__ import annotations

import json
import os

from evaluation.findings import ROLES
from evaluation.provenance import provenance_markdown
from inputs.jsonl import write_text_atomic
from pipeline import stage
from pipeline.stage import require_file


def link(page: str | None, markdown: str) -> str | None:
    """`page` relative to the report's folder, for a Markdown link; None when it does not exist
    (these pages are written by hand-run scripts, not by a stage)."""
    if not page or not os.path.isfile(page):
        return None
    return os.path.relpath(page, os.path.dirname(os.path.abspath(markdown))).replace(os.sep, "/")


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--model", nargs=2, action="append", required=True, metavar=("NAME", "METRICS_JSON"),
                   help="a model's name and its evaluation metrics; the first is the baseline (repeatable)")
    p.add_argument("--role", nargs=2, action="append", default=[], metavar=("ROLE", "NAME"),
                   help=f"the model NAME plays ROLE ({', '.join(ROLES)}) in the paper's findings (repeatable)")
    p.add_argument("--data", nargs=2, action="append", default=[], metavar=("STAGE", "METRICS_JSON"),
                   help="a data stage's metrics (seed, dedup, mine, decontaminate, problems@sft, problems@rl), "
                        "for the report's Data section (repeatable)")
    p.add_argument("--rm", nargs=2, action="append", default=[], metavar=("NAME", "METRICS_JSON"),
                   help="a reward model's name and its metrics (metrics/rm/NAME.json), for the report's "
                        "Reward-model quality section (repeatable)")
    p.add_argument("--run", nargs=2, action="append", default=[], metavar=("NAME", "METRICS_JSON"),
                   help="an RL model's name and its training metrics (metrics/grpo/*.json), for the report's "
                        "RL runs section (repeatable)")
    p.add_argument("--sweep", metavar="MARKDOWN",
                   help="the sweep report; when the file exists the report links it (relative to --markdown)")
    p.add_argument("--seed-spread", metavar="MARKDOWN",
                   help="the seed-spread page (scripts/seed_spread.py); linked when the file exists, as --sweep")
    p.add_argument("--markdown", required=True, help="output: report tables (Markdown)")
    p.add_argument("--png", required=True, help="output: pass@K and maj@K vs K per benchmark (PNG)")
    args = p.parse_args(argv)
    # Imported after parsing: matplotlib takes seconds, which `--help` should not.
    from evaluation.report import markdown_report, plot_passk_majk

    stage.setup(args.params, uses_torch=False)
    results = {name: json.loads(require_file(path).read_text()) for name, path in args.model}
    rm = {name: json.loads(require_file(path).read_text()) for name, path in args.rm}
    runs = {name: json.loads(require_file(path).read_text()) for name, path in args.run}
    text = markdown_report(results, os.path.basename(args.png), dict(args.role), rm, runs,
                           link(args.sweep, args.markdown), link(args.seed_spread, args.markdown))
    if args.data:
        text += "\n" + provenance_markdown({name: json.loads(require_file(path).read_text()) for name, path in args.data})
    write_text_atomic(args.markdown, text)
    plot_passk_majk(results, args.png)
    print(text)


if __name__ == "__main__":
    stage.run(main)
