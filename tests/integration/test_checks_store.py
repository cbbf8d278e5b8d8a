"""What a real SQLite store keeps and refuses, as the checks expect."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.plan.metrics import to_metric_records
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from tests.sqlite_store import migrated_sqlite_uri

WORKSPACE_PATH = (
    "/mlflow/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
)


def test_nan_and_inf_as_mlflow_stores_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Why ±inf gets a warning and NaN does not: what a real store gives back."""
    client = client_ops.make_client(migrated_sqlite_uri(tmp_path))
    run = client.create_run(client_ops.experiment_id_for(client, "e"))
    with caplog.at_level(logging.WARNING, logger="kedro_azureml_mlflow"):
        records = to_metric_records("m", {"nan": math.nan, "inf": math.inf}, ".", 0)
    client_ops.log_request(client, run.info.run_id, Batch(metrics=records or []))
    stored = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(stored["m.nan"])  # kept as NaN: nothing to warn about
    assert stored["m.inf"] == 1.7976931348623157e308  # clamped: hence the warning
    plugin_records = [r for r in caplog.records if r.name.startswith("kedro_azureml_mlflow")]  # not MLflow's own
    assert [r.getMessage().split(";")[0] for r in plugin_records] == ["Metric 'm.inf' is inf"]


def test_permanent_refusals_from_a_real_store_are_told_from_outages(tmp_path: Path) -> None:
    from mlflow.entities import Param

    client = client_ops.make_client(migrated_sqlite_uri(tmp_path))
    run_id = client.create_run(client_ops.experiment_id_for(client, "e")).info.run_id
    client.log_batch(run_id, params=[Param("p", "1")])
    refusals = []
    for call in (
        lambda: client.log_batch(run_id, params=[Param("p", "2")]),  # changed param value
        lambda: client.log_batch("0" * 32, params=[Param("p", "2")]),  # no such run
    ):
        with pytest.raises(Exception) as caught:
            call()
        refusals.append(caught.value)
    assert all(client_ops.is_permanent(exc) for exc in refusals)

    down = client_ops.make_client("http://127.0.0.1:9")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        with pytest.raises(Exception) as caught:
            down.get_experiment_by_name("e")
    assert not client_ops.is_permanent(caught.value)
