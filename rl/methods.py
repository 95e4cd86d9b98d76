"""The RL methods of the paper's unified paradigm (§5.2.1, Table 10) as named strategies.

A method is a choice of gradient coefficient (a registered advantage estimator), reward function
and whether the KL penalty to the reference applies. The data source (online samples of the
current policy) is the same for all of them here; offline RFT and SFT are the `rft`/`sft`
coefficients applied to fixed data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    advantage: str  # registered in rl.advantages
    reward: str  # "rule", "orm" (outcome reward model) or "prm" (process reward model)
    kl: bool  # apply beta * KL to the reference (GRPO) or not (Online RFT, Table 10)
    iterative: bool = False  # retrain the reward model between RL iterations (§4.1.4)
    rule_outcome: bool = False  # outcome reward from the rule grader, step rewards from the PRM (PRIME-style)


METHODS: dict[str, Method] = {
    "online_rft": Method(advantage="rft", reward="rule", kl=False),
    "grpo_outcome": Method(advantage="outcome", reward="rule", kl=True),
    "grpo_outcome_orm": Method(advantage="outcome", reward="orm", kl=True),
    "grpo_process": Method(advantage="process", reward="prm", kl=True),
    "grpo_iterative": Method(advantage="process", reward="prm", kl=True, iterative=True),
    # Ablations beyond the paper (rl/advantages.py): other ways to turn PRM step rewards into credit.
    "grpo_process_prime": Method(advantage="process_prime", reward="prm", kl=True, rule_outcome=True),
    "grpo_process_min": Method(advantage="process_min", reward="prm", kl=True),
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"method: unknown {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name]
