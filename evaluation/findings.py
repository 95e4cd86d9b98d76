"""The paper's RL findings, checked against our own metrics: one verdict per claim and benchmark.

Claims (DeepSeekMath §4.1 and §5.2), each a comparison of two roles on one metric:

| claim | paper | comparison |
|---|---|---|
| GRPO beats Online RFT | Fig. 5 | outcome vs online_rft, top1 |
| process supervision is at least outcome supervision | Fig. 5 | process vs outcome, top1 |
| iterative RL is at least single-pass RL | Fig. 6 | iterative vs process, top1 |
| RL lifts maj@K | Fig. 7 | outcome vs sft, maj@n |
| RL lifts top-1 | Fig. 7 | outcome vs sft, top1 |
| RL does not lift pass@K at large K | Fig. 7 | outcome vs sft, pass@n |

Roles name the models of a run (`sft`, `online_rft`, `outcome`, `process`, `iterative`); a claim
whose roles are missing is left out. A difference counts only beyond two standard errors of the
difference of two accuracies on n problems (`two_se`, which `evaluation.report` shares).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ROLES = ("sft", "online_rft", "outcome", "process", "iterative")


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
    Claim("process supervision >= outcome supervision", "Fig. 5", "process", "outcome", "top1", "at_least"),
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


def _metric_key(metric: str, a: dict, b: dict) -> str | None:
    if metric == "top1":
        return "top1" if "top1" in a and "top1" in b else None
    ks = sorted(set(metric_ks(a, metric)) & set(metric_ks(b, metric)))
    return f"{metric}@{ks[-1]}" if ks else None


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


def findings_table(metrics_by_role: dict[str, dict]) -> str:
    """Markdown table of every claim whose two roles have metrics; '' when none has."""
    unknown = set(metrics_by_role) - set(ROLES)
    if unknown:
        raise ValueError(f"roles: unknown {sorted(unknown)}; choose from {list(ROLES)}")
    lines = ["| claim | paper | comparison | ours | theirs | difference | 2 SE | verdict |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for claim in CLAIMS:
        a, b = metrics_by_role.get(claim.ours), metrics_by_role.get(claim.theirs)
        key = _metric_key(claim.metric, a, b) if a and b else None
        if key is None:
            continue
        n = min(a.get("n_problems", 0), b.get("n_problems", 0))
        x, y = a[key], b[key]
        noise = two_se(x, y, n) if n else float("inf")
        diff = x - y
        lines.append(f"| {claim.text} | {claim.source} | {claim.ours} vs {claim.theirs}, {key} | {100 * x:.1f} | "
                     f"{100 * y:.1f} | {100 * diff:+.1f} | {100 * noise:.1f} | {verdict(claim.kind, diff, noise)} |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""
