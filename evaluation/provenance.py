"""The report's "Data" section: where the records of each stage came from, read from the data
stages' own metrics, so a reader sees at a glance which real sources (crawl files, GSM8K train,
MATH train) fed the run and what decontamination removed, per benchmark and per source."""

from __future__ import annotations


def _counts(counts: dict[str, int] | None) -> str:
    if not counts:
        return "-"
    return ", ".join(f"{name} {n:,}" for name, n in counts.items())


def _decontamination_rows(stage: str, stats: dict) -> list[str]:
    checked = _counts(stats.get("benchmark_records"))
    return [f"| {stage} | {stats.get('input', 0):,} | {stats.get('removed', 0):,} | "
            f"{_counts(stats.get('removed_by_benchmark'))} | {_counts(stats.get('removed_by_page_source'))} | {checked} |"]


def provenance_markdown(data: dict[str, dict]) -> str:
    """Markdown for the metrics of the data stages, keyed by stage name (`seed`, `dedup`, `mine`,
    `decontaminate`, `problems@sft`, `problems@rl`); stages absent from `data` are left out."""
    lines = ["## Data", "", "Records per source at each stage (from the stages' metrics files).", "",
             "| stage | records by source |", "|---|---|"]
    rows = [("seed", "by_source", "seed pages"), ("dedup", "kept_by_source", "pool pages kept"),
            ("mine", "collected_by_source", "pages collected"), ("problems@sft", "by_source", "SFT problems"),
            ("problems@rl", "by_source", "RL questions")]
    for stage, key, what in rows:
        if stage in data:
            lines.append(f"| {stage} ({what}) | {_counts(data[stage].get(key))} |")
    if "decontaminate" in data:
        stats = data["decontaminate"]
        lines.append(f"| decontaminate (corpus kept) | {stats.get('kept', 0):,} of {stats.get('input', 0):,} |")
    lines += ["", "Decontamination: removals per benchmark (a page hit by MATH-500 is also hit by MATH) "
              "and per source of the removed record, and the benchmark records checked against.", "",
              "| stage | input | removed | by benchmark | by source | benchmark records |", "|---|---:|---:|---|---|---|"]
    if "decontaminate" in data:
        lines += _decontamination_rows("decontaminate (corpus)", data["decontaminate"])
    for role in ("sft", "rl"):
        stats = data.get(f"problems@{role}", {}).get("decontamination")
        if stats:
            lines += _decontamination_rows(f"problems@{role}", stats)
    return "\n".join(lines) + "\n"
