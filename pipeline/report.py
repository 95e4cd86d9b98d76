"""Stage `report`: Markdown tables of every model on every benchmark, the paper's RL findings
checked against them (`evaluation/findings.py`), and the paper's Fig. 7 view (pass@K and maj@K
against K, one row per benchmark, one line per model) as PNG."""

from __future__ import annotations

import json
import os

from evaluation.findings import ROLES
from evaluation.provenance import provenance_markdown
from evaluation.report import markdown_report, plot_passk_majk
from inputs.jsonl import write_text_atomic
from pipeline import stage
from pipeline.stage import require_file


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--model", nargs=2, action="append", required=True, metavar=("NAME", "METRICS_JSON"),
                   help="a model's name and its evaluation metrics; the first is the baseline (repeatable)")
    p.add_argument("--role", nargs=2, action="append", default=[], metavar=("ROLE", "NAME"),
                   help=f"the model NAME plays ROLE ({', '.join(ROLES)}) in the paper's findings (repeatable)")
    p.add_argument("--data", nargs=2, action="append", default=[], metavar=("STAGE", "METRICS_JSON"),
                   help="a data stage's metrics (seed, dedup, mine, decontaminate, problems@sft, problems@rl), "
                        "for the report's Data section (repeatable)")
    p.add_argument("--markdown", required=True, help="output: report tables (Markdown)")
    p.add_argument("--png", required=True, help="output: pass@K and maj@K vs K per benchmark (PNG)")
    args = p.parse_args(argv)
    stage.setup(args.params)
    results = {name: json.loads(require_file(path).read_text()) for name, path in args.model}
    text = markdown_report(results, os.path.basename(args.png), dict(args.role))
    if args.data:
        text += "\n" + provenance_markdown({name: json.loads(require_file(path).read_text()) for name, path in args.data})
    write_text_atomic(args.markdown, text)
    plot_passk_majk(results, args.png)
    print(text)


if __name__ == "__main__":
    stage.run(main)
