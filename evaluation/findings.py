"""The paper's RL findings, checked against our own metrics: one verdict per claim and benchmark.

Claims (DeepSeekMath §4.1 and §5.2), each a comparison of two roles on one metric, compared as the
paper compares them (Fig. 5: Online RFT and GRPO+OS by the rule; GRPO+OS and GRPO+PS both
rewarded by trained reward models, Table 10):

| claim | paper | comparison |
|---|---|---|
| GRPO beats Online RFT | Fig. 5 | outcome vs online_rft (both rule rewards), top1 |
| process supervision is at least outcome supervision | Fig. 5 | process vs outcome_orm (both trained reward models), top1 |
| iterative RL is at least single-pass RL | Fig. 6 | iterative vs process, top1 |
| RL lifts maj@K | Fig. 7 | outcome vs sft, maj@n |
| RL lifts top-1 | Fig. 7 | outcome vs sft, top1 |
| RL does not lift pass@K at large K | Fig. 7 | outcome vs sft, pass@n |

Roles name the models of a run (`ROLES`); a claim whose roles are missing is left out. A
difference counts only beyond two standard errors of the difference of two accuracies on n
problems (`two_se`, which `evaluation.report` shares).

Two rules decide whether a claim is judged at all, per benchmark:

- Path check: where SFT's top-1 is below 10% (`PATH_CHECK_TOP1`) the benchmark only checks the
  plumbing (the tiny default model on real GSM8K/MATH); no claim is judged there.
- Collapse: a non-SFT role whose top-1 or maj@K (largest K it shares with SFT) is more than two
  standard errors below SFT's has collapsed; a claim that involves it is not testable (a
  collapsed run says nothing about the method the claim is about).

The process-advantage ablations beyond the paper (`ABLATIONS`) get a table of their own beside the
paper's formula (`process`), with no paper verdict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ROLES = ("sft", "online_rft", "outcome", "outcome_orm", "process", "iterative", "process_prime", "process_min")
ABLATIONS = {
    "process_prime": "PRIME-style: outcome + weighted centred process advantage",
    "process_min": "PURE-style: min-form credit",
}
PAPER_FORMULA = "the paper's formula: normalised PRM step rewards summed to go"
PATH_CHECK_TOP1 = 0.10
PATH_CHECK_VERDICT = "not judged: path check (SFT top-1 below 10%)"


@dataclass(frozen=True)
class Claim:
    text: str
    source: str
    ours: str  # role whose value the claim is about
    theirs: str  # role it is compared with
    metric: str  # "top1", or "maj" / "pass" for the largest k both have
    kind: str  # "greater" (ours > theirs), "at_least" (ours >= theirs), "not_greater" (ours <= theirs)


CLAIMS = (
    Claim("GRPO beats Online RFT", "Fig. 5", "outcome", "online_rft", "top1", "greater"),
    Claim("process supervision >= outcome supervision", "Fig. 5", "process", "outcome_orm", "top1", "at_least"),
    Claim("iterative RL >= single-pass RL", "Fig. 6", "iterative", "process", "top1", "at_least"),
    Claim("RL lifts maj@K", "Fig. 7", "outcome", "sft", "maj", "greater"),
    Claim("RL lifts top-1", "Fig. 7", "outcome", "sft", "top1", "greater"),
    Claim("RL does not lift pass@K", "Fig. 7", "outcome", "sft", "pass", "not_greater"),
)


_K_KEY = re.compile(r"(pass|maj)@(\d+)")


def metric_ks(metrics: dict, kind: str) -> list[int]:
    """Sorted k values for which `metrics` has `kind@k` (kind: "pass" or "maj")."""
    matches = (_K_KEY.fullmatch(key) for key in metrics)
    return sorted(int(m.group(2)) for m in matches if m and m.group(1) == kind)


def two_se(a: float, b: float, n: int) -> float:
    """Two standard errors of the difference of accuracies a and b, each over n problems
    (an unpaired approximation; the paper gives none)."""
    return 2 * math.sqrt((a * (1 - a) + b * (1 - b)) / n)


def common_key(metric: str, *all_metrics: dict) -> str | None:
    """`top1`, or `maj@K` / `pass@K` for the largest K every one of `all_metrics` has; None if none."""
    if not all_metrics:
        return None
    if metric == "top1":
        return "top1" if all("top1" in m for m in all_metrics) else None
    ks = set.intersection(*(set(metric_ks(m, metric)) for m in all_metrics))
    return f"{metric}@{max(ks)}" if ks else None


def _metric_key(metric: str, a: dict, b: dict) -> str | None:
    return common_key(metric, a, b)


def _noise(a: dict, b: dict, key: str) -> float:
    n = min(a.get("n_problems", 0), b.get("n_problems", 0))
    return two_se(a[key], b[key], n) if n else float("inf")


def verdict(kind: str, diff: float, two_se: float) -> str:
    """'reproduces', 'does not reproduce' or 'not resolved (within noise)' for one claim."""
    above, below = diff > two_se, diff < -two_se
    if kind == "greater":
        return "reproduces" if above else "does not reproduce" if below else "not resolved (within noise)"
    if kind == "at_least":
        return "does not reproduce" if below else "reproduces" if above else "consistent (within noise)"
    if kind == "not_greater":
        return "does not reproduce" if above else "reproduces"
    raise ValueError(f"kind: unknown {kind!r}")


def _check_roles(metrics_by_role: dict[str, dict]) -> None:
    unknown = set(metrics_by_role) - set(ROLES)
    if unknown:
        raise ValueError(f"roles: unknown {sorted(unknown)}; choose from {list(ROLES)}")


def is_path_check(metrics_by_role: dict[str, dict]) -> bool:
    """True when SFT's top-1 on this benchmark is below `PATH_CHECK_TOP1` (no claim is judged)."""
    sft = metrics_by_role.get("sft")
    return bool(sft) and "top1" in sft and sft["top1"] < PATH_CHECK_TOP1


def collapse_reason(metrics_by_role: dict[str, dict], role: str) -> str | None:
    """Why `role` has collapsed on this benchmark ('top1 -50.8 points, 2 SE 5.3'), or None.

    Collapsed: its top-1 or its maj@K (largest K shared with SFT) is more than two standard
    errors below SFT's. SFT never collapses; without SFT metrics nothing does."""
    sft, ours = metrics_by_role.get("sft"), metrics_by_role.get(role)
    if role == "sft" or not sft or not ours:
        return None
    reasons = []
    for metric in ("top1", "maj"):
        key = common_key(metric, ours, sft)
        if key is None:
            continue
        diff, noise = ours[key] - sft[key], _noise(ours, sft, key)
        if diff < -noise:
            reasons.append(f"{key} {100 * diff:+.1f} points vs sft, 2 SE {100 * noise:.1f}")
    return "; ".join(reasons) or None


def collapsed_roles(metrics_by_role: dict[str, dict]) -> dict[str, str]:
    """Every collapsed role on this benchmark, with the reason (see `collapse_reason`)."""
    found = {role: collapse_reason(metrics_by_role, role) for role in metrics_by_role}
    return {role: why for role, why in found.items() if why}


def claim_verdict(claim: Claim, metrics_by_role: dict[str, dict], key: str) -> str:
    """The verdict of one claim on one benchmark, after the path-check and collapse rules."""
    if is_path_check(metrics_by_role):
        return PATH_CHECK_VERDICT
    collapsed = collapsed_roles(metrics_by_role)
    involved = [r for r in (claim.ours, claim.theirs) if r in collapsed]
    if involved:
        return f"not testable: collapsed ({', '.join(involved)})"
    a, b = metrics_by_role[claim.ours], metrics_by_role[claim.theirs]
    return verdict(claim.kind, a[key] - b[key], _noise(a, b, key))


def findings_table(metrics_by_role: dict[str, dict]) -> str:
    """Markdown table of every claim whose two roles have metrics; '' when none has."""
    _check_roles(metrics_by_role)
    lines = ["| claim | paper | comparison | ours | theirs | difference | 2 SE | verdict |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for claim in CLAIMS:
        a, b = metrics_by_role.get(claim.ours), metrics_by_role.get(claim.theirs)
        key = _metric_key(claim.metric, a, b) if a and b else None
        if key is None:
            continue
        x, y = a[key], b[key]
        noise = _noise(a, b, key)
        lines.append(f"| {claim.text} | {claim.source} | {claim.ours} vs {claim.theirs}, {key} | {100 * x:.1f} | "
                     f"{100 * y:.1f} | {100 * (x - y):+.1f} | {100 * noise:.1f} | "
                     f"{claim_verdict(claim, metrics_by_role, key)} |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def _diff_cell(a: dict | None, b: dict | None, key: str | None) -> str:
    """'+1.2 ± 5.4' (points, 2 SE), or '—' when either side or the metric is missing."""
    if not a or not b or key is None or key not in a or key not in b:
        return "—"
    noise = _noise(a, b, key)
    return f"{100 * (a[key] - b[key]):+.1f} ± {100 * noise:.1f}"


def ablation_table(metrics_by_role: dict[str, dict], names: dict[str, str] | None = None) -> str:
    """Markdown table of the process-advantage ablations beyond the paper (`ABLATIONS`) beside the
    paper's formula (`process`): top-1 and maj@K, their differences to process and to SFT (points
    ± 2 SE) and a status by the collapse rule. No paper verdict. '' when no ablation has metrics."""
    _check_roles(metrics_by_role)
    names = names or {}
    present = [r for r in ABLATIONS if r in metrics_by_role]
    if not present:
        return ""
    rows = [r for r in ("process", *present) if r in metrics_by_role]
    process, sft = metrics_by_role.get("process"), metrics_by_role.get("sft")
    maj = common_key("maj", *(metrics_by_role[r] for r in rows), *([sft] if sft else []))
    maj_col = maj or "maj@K"
    lines = [f"| estimator | model | top1 | {maj_col} | top1 vs process | {maj_col} vs process | top1 vs sft | "
             f"{maj_col} vs sft | status |",
             "|---|---|" + "---:|" * 6 + "---|"]
    for role in rows:
        m = metrics_by_role[role]
        what = PAPER_FORMULA if role == "process" else ABLATIONS[role]
        cells = [f"{100 * m['top1']:.1f}" if "top1" in m else "—",
                 f"{100 * m[maj]:.1f}" if maj else "—"]
        for other in (process, sft):
            same = other is m
            cells += ["—" if same else _diff_cell(m, other, "top1" if "top1" in m else None),
                      "—" if same else _diff_cell(m, other, maj)]
        status = "collapsed" if collapse_reason(metrics_by_role, role) else "ok" if sft else "—"
        lines.append(f"| {role} ({what}) | {names.get(role, role)} | " + " | ".join(cells) + f" | {status} |")
    lines += ["", "Values are percentages; differences are points ± 2 standard errors. Collapsed: top-1 or maj@K "
              "more than 2 standard errors below SFT's."]
    return "\n".join(lines) + "\n"
