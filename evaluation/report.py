"""Reports over several models' metrics on several benchmarks: Markdown tables (a summary of
models x benchmarks x metrics, a full table per benchmark, MATH level / subject breakdowns),
pass@K / maj@K curves per benchmark as one PNG, and DVC plot rows.

The figure mirrors the paper's Fig. 7 (pass@K and maj@K against K on a log2 axis, one line per
model) at our smaller K. The table's verdict sentences compare each model with the first one
(the baseline) and say whether the difference is within noise: about two standard errors of
the difference of two accuracies on n problems (an unpaired approximation; the paper gives none).
"""

from __future__ import annotations

import os
import tempfile

from matplotlib.figure import Figure

from evaluation.findings import findings_table, metric_ks, two_se


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _comparison(name: str, base: str, metric: str, ours: dict, theirs: dict) -> str:
    """One honest clause: the difference, its sign, and whether it exceeds ~2 standard errors."""
    a, b = ours[metric], theirs[metric]
    diff = 100 * (a - b)
    n = min(ours.get("n_problems", 0), theirs.get("n_problems", 0))
    verdict = "beat" if diff > 0 else "did not beat"
    clause = f"{name} {verdict} {base} on {metric} ({_pct(a)}% vs {_pct(b)}%, {diff:+.1f} points"
    if n > 0:
        bound = 100 * two_se(a, b, n)
        noise = "within" if abs(diff) <= bound else "beyond"
        clause += f"; {noise} 2 standard errors of {bound:.1f} points on {n} problems"
    return clause + ")"


def markdown_table(metrics_by_model: dict[str, dict]) -> str:
    """Markdown table (rows: models; columns: top1, maj@k, pass@k, sample_acc, in percent).

    After the table, one sentence per non-baseline model says whether it beat the first model
    on top1 and on the largest maj@k both have.
    """
    if not metrics_by_model:
        raise ValueError("metrics_by_model: empty")
    all_metrics = list(metrics_by_model.values())
    maj_ks = sorted(set.intersection(*(set(metric_ks(m, "maj")) for m in all_metrics)))
    pass_ks = sorted(set.intersection(*(set(metric_ks(m, "pass")) for m in all_metrics)))
    columns = ["top1", *(f"maj@{k}" for k in maj_ks), *(f"pass@{k}" for k in pass_ks), "sample_acc"]
    columns = [c for c in columns if all(c in m for m in all_metrics)]
    lines = [
        "| model | " + " | ".join(columns) + " | n_problems |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name, metrics in metrics_by_model.items():
        cells = [_pct(metrics[c]) for c in columns] + [str(metrics.get("n_problems", ""))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Values are percentages.")
    names = list(metrics_by_model)
    base = names[0]
    for name in names[1:]:
        clauses = [_comparison(name, base, "top1", metrics_by_model[name], metrics_by_model[base])]
        if maj_ks:
            metric = f"maj@{maj_ks[-1]}"
            clauses.append(
                _comparison(name, base, metric, metrics_by_model[name], metrics_by_model[base])
            )
        lines.append("")
        lines.append("; ".join(clauses) + ".")
    return "\n".join(lines) + "\n"


def curves_rows(metrics_by_model: dict[str, dict]) -> list[dict]:
    """Rows {model, k, pass_at_k, maj_at_k} for every k a model has both metrics for."""
    rows = []
    for name, metrics in metrics_by_model.items():
        for k in sorted(set(metric_ks(metrics, "pass")) & set(metric_ks(metrics, "maj"))):
            pass_k, maj_k = metrics[f"pass@{k}"], metrics[f"maj@{k}"]
            rows.append({"model": name, "k": k, "pass_at_k": pass_k, "maj_at_k": maj_k})
    return rows


def _benchmarks(results: dict[str, dict[str, dict]]) -> list[str]:
    """Benchmark names in first-seen order across models."""
    return list(dict.fromkeys(b for per_model in results.values() for b in per_model))


def summary_table(results: dict[str, dict[str, dict]]) -> str:
    """One table of models x benchmarks x metrics: top1 (lenient and strict), maj@n, pass@n."""
    lines = [
        "| benchmark | model | top1 | top1 strict | maj@n | pass@n | n samples | n problems |",
        "|---|---|" + "---:|" * 6,
    ]
    for bench in _benchmarks(results):
        for model, per_model in results.items():
            m = per_model.get(bench)
            if m is None:
                continue
            n = m["n_samples"]
            cells = [_pct(m["top1"]), _pct(m.get("top1_strict", float("nan"))),
                     _pct(m[f"maj@{n}"]), _pct(m[f"pass@{n}"]), str(n), str(m["n_problems"])]
            lines.append(f"| {bench} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def breakdown_table(results: dict[str, dict[str, dict]], bench: str, field: str) -> str:
    """Top-1 and maj@n per group (MATH level or subject), one column pair per model."""
    models = [m for m in results if field in results[m].get(bench, {})]
    groups = sorted({g for m in models for g in results[m][bench][field]})
    header = "| " + field.removeprefix("by_") + " | " + " | ".join(
        f"{m} top1 | {m} maj@n | n" for m in models
    ) + " |"
    lines = [header, "|---|" + "---:|" * (3 * len(models))]
    for group in groups:
        cells = []
        for model in models:
            g = results[model][bench][field].get(group)
            n = results[model][bench]["n_samples"]
            cells += ["", "", ""] if g is None else [_pct(g["top1"]), _pct(g[f"maj@{n}"]), str(g["n_problems"])]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_report(results: dict[str, dict[str, dict]], png_name: str, roles: dict[str, str] | None = None) -> str:
    """The whole report: the summary table, then per benchmark its full table, the paper's
    findings checked (when `roles` maps roles of `evaluation.findings` to model names) and
    breakdowns."""
    if not results:
        raise ValueError("results: empty")
    roles = roles or {}
    missing = sorted(m for m in roles.values() if m not in results)
    if missing:
        raise ValueError(f"roles: no metrics for model(s) {missing}")
    parts = ["# Results\n", "Values are percentages; top1 is greedy, maj@n and pass@n use n samples "
             "at the sampling temperature; strict counts only answers in an explicit format.\n",
             summary_table(results), f"![pass@K and maj@K against K]({png_name})\n"]
    for bench in _benchmarks(results):
        flat = {m: per[bench] for m, per in results.items() if bench in per}
        parts.append(f"## {bench}\n\n" + markdown_table(flat))
        found = findings_table({role: flat[m] for role, m in roles.items() if m in flat})
        if found:
            parts.append(f"### {bench}: the paper's findings\n\n" + found)
        for field in ("by_level", "by_subject"):
            if any(field in m for m in flat.values()):
                parts.append(f"### {bench} {field.replace('_', ' ')}\n\n" + breakdown_table(results, bench, field))
    return "\n".join(parts)


def plot_passk_majk(results: dict[str, dict[str, dict]], path_png: str) -> None:
    """Write a PNG with one row per benchmark (pass@K and maj@K against K, log2 axis)."""
    if not results:
        raise ValueError("results: empty")
    benches = _benchmarks(results)
    # Figure without pyplot: no global backend switch, no GUI, safe in worker processes.
    fig = Figure(figsize=(10, 3.6 * len(benches)), dpi=100)
    axes = fig.subplots(len(benches), 2, squeeze=False)
    for row, bench in zip(axes, benches, strict=True):
        for ax, kind, title in zip(row, ("pass", "maj"), ("Pass@K", "Maj@K"), strict=True):
            for name, per_model in results.items():
                metrics = per_model.get(bench)
                if metrics is None:
                    continue
                ks = metric_ks(metrics, kind)
                ax.plot(ks, [100 * metrics[f"{kind}@{k}"] for k in ks], marker="o", label=name)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("K")
            ax.set_ylabel("accuracy (%)")
            ax.set_title(f"{bench}: {title}")
            ax.grid(True, alpha=0.3)
            ax.legend()
    fig.tight_layout()
    _save_atomic(fig, path_png)


def _save_atomic(fig: Figure, path_png: str) -> None:
    directory = os.path.dirname(os.path.abspath(path_png))
    os.makedirs(directory, exist_ok=True)
    # Temp file in the same directory, then os.replace: readers never see a half-written PNG.
    fd, tmp = tempfile.mkstemp(suffix=".png.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the plot should be readable like any output
        os.replace(tmp, path_png)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
