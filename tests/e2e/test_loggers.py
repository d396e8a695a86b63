"""logger=tensorboard and logger=mlflow write their files in the run folder (no server), beside csv and wandb."""

from __future__ import annotations

import pytest

from tests.conftest import TINY
from tests.helpers import compose_config


@pytest.mark.parametrize("logger", ["tensorboard", "mlflow"])
def test_a_logger_writes_its_files(logger, tmp_path):
    pytest.importorskip("tensorboardX" if logger == "tensorboard" else "mlflow")
    from mtlkit.run import train

    overrides = [o for o in TINY if not o.startswith("logger=")]
    res = train(compose_config([*overrides, f"logger={logger}"], tmp_path))
    assert res["metrics"]["test"]["macro"]["auroc"] is not None
    if logger == "tensorboard":
        events = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0
    else:
        import mlflow

        client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
        (run,) = client.search_runs([client.get_experiment_by_name("mtlkit").experiment_id])
        assert run.data.params["seed"] == "0"
        history = client.get_metric_history(run.info.run_id, "val/auroc_macro")
        assert history and 0 <= history[-1].value <= 1
