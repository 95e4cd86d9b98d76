"""Reports over several models' metrics on several benchmarks: Markdown tables (a summary of
models x benchmarks x metrics, a full table per benchmark, MATH level / subject breakdowns),
pass@K / maj@K curves per benchmark as one PNG, and DVC plot rows.

Besides, per benchmark: the paper's findings checked (`evaluation.findings`, with its path-check
and collapse rules), the paper's 2x2 (outcome / process supervision x rule / trained reward) and
the process-advantage ablations beyond the paper; once per run: the reward models' held-out
quality and the RL runs' final training values.

The figure mirrors the paper's Fig. 7 (pass@K and maj@K against K on a log2 axis, one line per
model) at our smaller K. The table's verdict sentences compare each model with the first one
(the baseline) and say whether the difference is within noise: about two standard errors of
the difference of two accuracies on n problems (an unpaired approximation; the paper gives none).

Every data table is a polars DataFrame of text cells rendered by one function (`_markdown`): the
numbers are formatted in Python first (`f"{x:.1f}"` rounds the exact binary value, which polars'
own rounding does not promise), the frame gives the table its shape (the MATH breakdowns are one
join per model onto the sorted groups).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import polars as pl
from matplotlib.figure import Figure

from evaluation.findings import (
    ablation_table,
    collapse_reason,
    common_key,
    findings_table,
    is_path_check,
    metric_ks,
    two_se,
)

DASH = "—"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _markdown(frame: pl.DataFrame, align: str, header: Sequence[str] | None = None) -> list[str]:
    """Markdown lines of a frame of text cells: the header (the column names unless `header` is
    given, e.g. to repeat a name), the separator (`align`: one letter per column, l or r), the rows."""
    names = frame.columns if header is None else list(header)
    if len(names) != frame.width or len(align) != frame.width:
        raise ValueError(f"_markdown: {frame.width} columns, {len(names)} names, {len(align)} alignments")
    lines = ["| " + " | ".join(names) + " |", "|" + "".join("---:|" if a == "r" else "---|" for a in align)]
    return lines + ["| " + " | ".join(row) + " |" for row in frame.iter_rows()]


def _text_frame(columns: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame({name: pl.Series(name, cells, dtype=pl.Utf8) for name, cells in columns.items()})


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
    frame = _text_frame({"model": list(metrics_by_model), **{c: [_pct(m[c]) for m in all_metrics] for c in columns},
                         "n_problems": [str(m.get("n_problems", "")) for m in all_metrics]})
    lines = _markdown(frame, "l" + "r" * (len(columns) + 1))
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
    header = ["benchmark", "model", "top1", "top1 strict", "maj@n", "pass@n", "n samples", "n problems"]
    rows = []
    for bench in _benchmarks(results):
        for model, per_model in results.items():
            m = per_model.get(bench)
            if m is None:
                continue
            n = m["n_samples"]
            rows.append([bench, model, _pct(m["top1"]), _pct(m.get("top1_strict", float("nan"))),
                         _pct(m[f"maj@{n}"]), _pct(m[f"pass@{n}"]), str(n), str(m["n_problems"])])
    frame = pl.DataFrame(rows, schema={name: pl.Utf8 for name in header}, orient="row")
    return "\n".join(_markdown(frame, "ll" + "r" * 6)) + "\n"


def breakdown_table(results: dict[str, dict[str, dict]], bench: str, field: str) -> str:
    """Top-1 and maj@n per group (MATH level or subject), one column pair per model."""
    models = [m for m in results if field in results[m].get(bench, {})]
    long = pl.DataFrame(
        [(str(group), i, _pct(g["top1"]), _pct(g[f"maj@{results[m][bench]['n_samples']}"]), str(g["n_problems"]))
         for i, m in enumerate(models) for group, g in results[m][bench][field].items()],
        schema={"group": pl.Utf8, "model": pl.Int64, "top1": pl.Utf8, "maj": pl.Utf8, "n": pl.Utf8}, orient="row")
    # Every group any model has, sorted; a model without the group gets empty cells.
    frame = long.select(pl.col("group").unique().sort())
    for i in range(len(models)):
        cells = long.filter(pl.col("model") == i).select(
            "group", *(pl.col(c).alias(f"{i}:{c}") for c in ("top1", "maj", "n")))
        frame = frame.join(cells, on="group", how="left", maintain_order="left")
    header = [field.removeprefix("by_"), *(name for m in models for name in (f"{m} top1", f"{m} maj@n", "n"))]
    return "\n".join(_markdown(frame.fill_null(""), "l" + "r" * (3 * len(models)), header)) + "\n"


def _num(value, digits: int, scale: float = 1.0) -> str:
    """A number rounded to `digits` decimals (times `scale`), '—' for missing or NaN, never '-0.0'."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return DASH
    text = f"{round(scale * value, digits) + 0.0:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _int(value) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else DASH


# The paper's 2x2 (Fig. 5 / Table 10) and the rows beside it: (row, rule-reward role, trained-RM role).
_GRID = (
    ("outcome supervision (GRPO)", "outcome", "outcome_orm"),
    ("process supervision (GRPO)", None, "process"),
    ("Online RFT", "online_rft", None),
    ("iterative RL (PRM, refreshed)", None, "iterative"),
)


def paper_2x2(flat: dict[str, dict], roles: dict[str, str]) -> str:
    """The paper's 2x2 on one benchmark: rows outcome / process supervision, columns rule reward /
    trained reward model, each cell the model's top-1 and maj@K; Online RFT (rule) and iterative RL
    (refreshed PRM) as extra rows. '' when none of those roles has metrics here."""
    by_role = {role: flat[model] for role, model in roles.items() if model in flat}
    grid_roles = [r for _, *pair in _GRID for r in pair if r and r in by_role]
    if not grid_roles:
        return ""
    ref = [by_role[r] for r in grid_roles] + ([by_role["sft"]] if "sft" in by_role else [])
    maj = common_key("maj", *ref)

    def cell(role: str | None, why: str) -> str:
        if role is None:
            return f"{DASH} ({why})"
        if role not in by_role:
            return f"{DASH} (not run)"
        m = by_role[role]
        text = f"{roles[role]}: {_num(m.get('top1'), 1, 100)} / {_num(m.get(maj), 1, 100) if maj else DASH}"
        return text + " **(collapsed)**" if collapse_reason(by_role, role) else text

    lines = ["| | rule reward | trained reward model |", "|---|---|---|"]
    for row, rule, model in _GRID:
        lines.append(f"| {row} | {cell(rule, 'no rule process reward' if model == 'process' else 'n/a')} | "
                     f"{cell(model, 'rule only' if row == 'Online RFT' else 'n/a')} |")
    lines.append("")
    sft = by_role.get("sft")
    base = (f" SFT ({roles['sft']}): {_num(sft.get('top1'), 1, 100)} / {_num(sft.get(maj), 1, 100) if maj else DASH}."
            if sft else "")
    lines.append(f"Cells: model: top1 / {maj or 'maj@K'} (percentages).{base} Collapsed: top-1 or maj@K more than "
                 "2 standard errors below SFT's; a claim involving it is not testable.")
    return "\n".join(lines) + "\n"


_RM_COLUMNS = (
    ("held-out AUC", "heldout_auc", lambda v: _num(v, 3)),
    ("AUC within a question", "heldout_auc_within_question", lambda v: _num(v, 3)),
    ("accuracy", "heldout_accuracy", lambda v: _num(v, 1, 100)),
    ("best-of-N", "heldout_best_of_n", lambda v: _num(v, 1, 100)),
    ("best-of-N, last-step score", "heldout_best_of_n_last", lambda v: _num(v, 1, 100)),
    ("random pick (mean accuracy)", "heldout_random_of_n", lambda v: _num(v, 1, 100)),
    ("oracle (pass@N)", "heldout_oracle_of_n", lambda v: _num(v, 1, 100)),
    ("N", "best_of_n_size", _int),
    ("held-out questions", "heldout_questions", _int),
)


def rm_quality_table(rm: dict[str, dict]) -> str:
    """'## Reward-model quality': one row per reward model's metrics (keys as `pipeline.reward_model`
    writes them); a missing key shows as '—', the last-step column only when some model has it."""
    if not rm:
        return ""
    cols = [c for c in _RM_COLUMNS if c[1] != "heldout_best_of_n_last" or any(c[1] in m for m in rm.values())]
    frame = _text_frame({"reward model": list(rm), **{label: [fmt(m.get(key)) for m in rm.values()]
                                                      for label, key, fmt in cols}})
    lines = ["## Reward-model quality", "",
             "Held-out data of the reward-model stage. AUC and accuracy over scored positions (ORM: one per "
             "solution, PRM: one per step); best-of-N: accuracy of the solution the model scores highest among "
             "a question's N (PRM score: the minimum over steps, and the last step's score as a variant), "
             "against a random pick and an oracle. AUC within a question: over pairs of a correct and a wrong "
             "solution of one question, the share ordered right; GRPO compares outputs within a question, so "
             "this is the separation its advantages see. Accuracies are percentages.", "",
             *_markdown(frame, "l" + "r" * len(cols))]
    return "\n".join(lines) + "\n"


def _steps(m: dict) -> str:
    run, planned = m.get("steps_run"), m.get("steps")
    if isinstance(run, int) and isinstance(planned, int) and run != planned:
        return f"{run} of {planned}"
    return _int(run if isinstance(run, int) else planned)


def _stopped(m: dict) -> str:
    stopped = m.get("stopped_early")
    if stopped is None:
        return DASH
    if not stopped:
        return "no"
    parts = [f"at step {m['stop_step']}" if isinstance(m.get("stop_step"), int) else "",
             f"kept step {m['kept_step']}" if isinstance(m.get("kept_step"), int) else "",
             str(m["stop_reason"]) if m.get("stop_reason") else ""]
    detail = "; ".join(p for p in parts if p)
    return f"yes ({detail})" if detail else "yes"


def rl_runs_table(runs: dict[str, dict]) -> str:
    """'## RL runs': per GRPO run its steps, whether the drift guard stopped it, and the last logged
    rule accuracy of its samples, RM-rule agreement, KL and mean advantage; then, for a run with
    `rm_quality_by_iteration` (iterative RL), the reward model after each refresh."""
    if not runs:
        return ""
    frame = _text_frame({
        "model": list(runs),
        "steps run": [_steps(m) for m in runs.values()],
        "stopped early": [_stopped(m) for m in runs.values()],
        "rule accuracy of samples": [_num(m.get("accuracy"), 1, 100) for m in runs.values()],
        "RM-rule agreement": [_num(m.get("rm_rule_agreement"), 1, 100) for m in runs.values()],
        "KL": [_num(m.get("kl"), 4) for m in runs.values()],
        "mean advantage": [_num(m.get("adv_mean"), 3) for m in runs.values()],
    })
    lines = ["## RL runs", "", "Last logged training values of each RL run (accuracy and agreement of the last step's "
             "samples, in percent).", "", *_markdown(frame, "lrlrrrr")]
    for name, m in runs.items():
        quality = m.get("rm_quality_by_iteration")
        if not quality:
            continue
        lines += ["", f"### Reward model after each iterative-RL refresh ({name})", "",
                  "Iteration 0 is the trained reward model before the first RL iteration; best-of-N and random pick "
                  "are percentages.", ""]
        frame = _text_frame({
            "iteration": [_int(q.get("iteration")) for q in quality],
            "held-out AUC": [_num(q.get("auc"), 3) for q in quality],
            "AUC within a question": [_num(q.get("auc_within_question"), 3) for q in quality],
            "best-of-N": [_num(q.get("best_of_n"), 1, 100) for q in quality],
            "random pick": [_num(q.get("random_of_n"), 1, 100) for q in quality],
        })
        lines += _markdown(frame, "rrrrr")
    return "\n".join(lines) + "\n"


def _by_role(flat: dict[str, dict], roles: dict[str, str]) -> dict[str, dict]:
    return {role: flat[model] for role, model in roles.items() if model in flat}


def path_check_benchmarks(results: dict[str, dict[str, dict]], roles: dict[str, str]) -> list[str]:
    """Benchmarks where SFT's top-1 is below 10%: path checks of the plumbing, no claim judged."""
    sft = roles.get("sft")
    return [b for b in _benchmarks(results) if sft in results and is_path_check({"sft": results[sft].get(b, {})})]


def markdown_report(results: dict[str, dict[str, dict]], png_name: str, roles: dict[str, str] | None = None,
                    rm: dict[str, dict] | None = None, runs: dict[str, dict] | None = None,
                    sweep_link: str | None = None, seed_spread_link: str | None = None) -> str:
    """The whole report: the summary table, then per benchmark its full table, the paper's 2x2,
    findings checked and ablations (when `roles` maps roles of `evaluation.findings` to model
    names) and breakdowns; then reward-model quality (`rm`: name -> metrics) and RL runs (`runs`:
    model name -> GRPO metrics). `sweep_link` and `seed_spread_link` (relative paths) add notes
    pointing at the sweep and at the spread over training seeds (scripts/seed_spread.py)."""
    if not results:
        raise ValueError("results: empty")
    roles = roles or {}
    missing = sorted(m for m in roles.values() if m not in results)
    if missing:
        raise ValueError(f"roles: no metrics for model(s) {missing}")
    parts = ["# Results\n", "Values are percentages; top1 is greedy, maj@n and pass@n use n samples "
             "at the sampling temperature; strict counts only answers in an explicit format.\n"]
    if sweep_link:
        parts.append(f"Model-reward RL settings were chosen by the sweep in [{os.path.basename(sweep_link)}]"
                     f"({sweep_link}).\n")
    if seed_spread_link:
        parts.append("Each RL row is one training run: how far the results move with the training seed and with "
                     f"the SFT checkpoint is measured in [{os.path.basename(seed_spread_link)}]({seed_spread_link}).\n")
    parts.append(summary_table(results))
    checks = path_check_benchmarks(results, roles)
    if checks:
        parts.append(f"Path checks: {', '.join(checks)} (SFT top-1 below 10%). These check the real-benchmark "
                     "plumbing; no claim of the paper is judged on them.\n")
    parts.append(f"![pass@K and maj@K against K]({png_name})\n")
    for bench in _benchmarks(results):
        flat = {m: per[bench] for m, per in results.items() if bench in per}
        by_role = _by_role(flat, roles)
        path_check = bench in checks
        title = f"## {bench} (path check)" if path_check else f"## {bench}"
        note = ("Path check: SFT top-1 is below 10%, so this benchmark checks the plumbing only; the paper's "
                "claims are not judged here.\n\n" if path_check else "")
        parts.append(f"{title}\n\n{note}" + markdown_table(flat))
        grid = "" if path_check else paper_2x2(flat, roles)
        if grid:
            parts.append(f"### {bench}: the paper's 2x2\n\n" + grid)
        found = findings_table(by_role)
        if found:
            parts.append(f"### {bench}: the paper's findings\n\n" + found)
        ablations = ablation_table(by_role, roles)
        if ablations:
            parts.append(f"### {bench}: ablations beyond the paper\n\nOther process-advantage estimators on the "
                         "same PRM rewards, beside the paper's formula; no paper claim covers them.\n\n" + ablations)
        for field in ("by_level", "by_subject"):
            if any(field in m for m in flat.values()):
                parts.append(f"### {bench} {field.replace('_', ' ')}\n\n" + breakdown_table(results, bench, field))
    for section in (rm_quality_table(rm or {}), rl_runs_table(runs or {})):
        if section:
            parts.append(section)
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
