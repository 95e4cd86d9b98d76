"""The drift guard: window mean of RM-rule agreement, snapshots, restore of the last good policy."""

import torch

from rl.guard import AgreementGuard


def model_at(value: float) -> torch.nn.Linear:
    m = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(value)
    return m


def run(guard: AgreementGuard, model: torch.nn.Linear, agreements: list[float]) -> int | None:
    """Steps 1..n: check the step's agreement, then 'update' (weight = step) and snapshot."""
    guard.start(model, 0)
    for step, a in enumerate(agreements, start=1):
        if guard.check(step, a):
            return guard.restore(model)
        with torch.no_grad():
            model.weight.fill_(float(step))
        guard.after_update(model, step)
    return None


def test_disabled_guard_never_stops_nor_copies():
    g = AgreementGuard(threshold=0.0, window=2)
    assert run(g, model_at(0.0), [0.0] * 10) is None
    assert not g.snapshots and g.summary() == {"stopped_early": False}


def test_stops_on_the_window_mean_and_restores_the_snapshot_before_the_window():
    g = AgreementGuard(threshold=0.5, window=3)
    m = model_at(0.0)
    # window means: steps 1-3 -> 0.8, 2-4 -> 0.6, 3-5 -> 0.4 (< 0.5): stop at step 5.
    kept = run(g, m, [0.8, 0.8, 0.8, 0.2, 0.2, 0.2])
    # snapshots at steps 0 and 3; the failing window starts at step 3, so only step 0 is before it.
    assert kept == 0 and float(m.weight.detach()) == 0.0
    assert g.summary()["stop_step"] == 5 and g.summary()["kept_step"] == 0 and g.summary()["stopped_early"]


def test_a_later_drift_keeps_a_later_policy():
    g = AgreementGuard(threshold=0.5, window=2)
    m = model_at(0.0)
    # means: (1,2)=1, (2,3)=1, (3,4)=1, (4,5)=1, (5,6)=0.5 ok, (6,7)=0 -> stop at 7; window starts at 6;
    # snapshots every 2 steps (2, 4, 6 kept as the newest two: 4 and 6); newest before 6 is 4.
    kept = run(g, m, [1, 1, 1, 1, 1, 0, 0, 0])
    assert kept == 4 and float(m.weight.detach()) == 4.0


def test_offset_numbers_steps_across_iterations():
    g = AgreementGuard(threshold=0.5, window=2, offset=10)
    m = model_at(0.0)
    g.start(m, 0)
    assert g.snapshots[0][0] == 10
    assert not g.check(1, 0.0) and g.check(2, 0.0)  # the window needs 2 steps
    assert g.stopped_at == 12
