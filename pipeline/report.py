"""Stage `report`: one Markdown table of every model's metrics and the paper's Fig. 7 view as PNG."""

from __future__ import annotations

import json

from data_selection.jsonl import write_text_atomic
from evaluation.report import markdown_table, plot_passk_majk
from pipeline import stage
from pipeline.stage import require_file


def main(argv: list[str] | None = None) -> None:
    p = stage.parser(__doc__)
    p.add_argument("--model", nargs=2, action="append", required=True, metavar=("NAME", "METRICS_JSON"),
                   help="a model's name and its evaluation metrics; the first is the baseline (repeatable)")
    p.add_argument("--markdown", required=True, help="output: report table (Markdown)")
    p.add_argument("--png", required=True, help="output: pass@K and maj@K vs K (PNG)")
    args = p.parse_args(argv)
    stage.setup(args.params)
    metrics = {name: json.loads(require_file(path).read_text()) for name, path in args.model}
    table = markdown_table(metrics)
    text = "# Results\n\n" + table + "\n\n![pass@K and maj@K against K](" + args.png.split("/")[-1] + ")\n"
    write_text_atomic(args.markdown, text)
    plot_passk_majk(metrics, args.png)
    print(text)


if __name__ == "__main__":
    stage.run(main)
