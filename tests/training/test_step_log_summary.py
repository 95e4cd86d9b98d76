"""DVCLive's summary (a metric of dvc.yaml) keeps the stage's headline names, rounded; every logged
name keeps its per-step history for the plots."""

import json

from training.step_log import StepLogger


def test_summary_keeps_only_the_named_figures_rounded(tmp_path):
    logger = StepLogger(tmp_path / "live", every=1, total=2, summary=("loss", "kl"))
    logger.log(1, {"loss": 2.123456789, "kl": 3.14159e-05, "grad_norm": 1.0})
    logger.log(2, {"loss": 1.987654321, "kl": 2.6017e-05, "grad_norm": 0.5})
    logger.close()
    assert json.loads((tmp_path / "live" / "metrics.json").read_text()) == {"loss": 1.9877, "kl": 2.602e-05, "step": 2}
    history = (tmp_path / "live" / "plots" / "metrics" / "grad_norm.tsv").read_text().splitlines()
    assert history[0].split("\t") == ["step", "grad_norm"] and len(history) == 3


def test_without_names_the_summary_is_dvclives_own(tmp_path):
    logger = StepLogger(tmp_path / "live", every=1, total=1)
    logger.log(1, {"loss": 0.123456789, "lr": 0.002})
    logger.close()
    assert json.loads((tmp_path / "live" / "metrics.json").read_text()) == {"loss": 0.123456789, "lr": 0.002, "step": 1}
