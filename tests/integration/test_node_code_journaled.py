"""Node code's own MLflow calls while the plugin's run cannot be opened: journaled into that run, and ``sync``
puts them there (a real SQLite store), so one ``kedro run`` stays one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal
from kedro_azureml_mlflow.tracking.pipeline_side.node_code import JOURNAL_URI, NodeCode
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.protocol import RunStart
from kedro_azureml_mlflow.tracking.wire.records import RunEnd, RunHeader
from tests.sqlite_store import migrated_sqlite_uri

EXPERIMENT = "node-code-journaled"


def never_opened(_timeout: float, _step: str | None) -> None:
    return None  # the agent's answer when the run cannot be opened


def test_node_codes_calls_go_into_the_plugins_journal_and_sync_puts_them_into_its_one_run(tmp_path: Path) -> None:
    store = migrated_sqlite_uri(tmp_path)
    head = RunHeader(store, EXPERIMENT, None, "kedro-run", {"kedro.pipeline": "__default__"}, 1_700_000_000_000)
    journal = Journal(tmp_path / "journal", head)
    target = TargetSpec(store, EXPERIMENT, None, store)
    start = RunStart(head.run_name, head.tags, head.start_time_ms, head.run_key)  # the `run` message the link sent
    bridge = NodeCode(never_opened, journal.write, lambda: start, target, 5.0, armed=True)
    uri_before = mlflow.get_tracking_uri()
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "curve.txt").write_text("0.1 0.2\n")

    try:
        bridge.activate()  # a node starts in a process that imported MLflow
        assert mlflow.get_tracking_uri() == JOURNAL_URI
        seen_id = mlflow.active_run().info.run_id
        mlflow.log_metric("loss", 0.25, step=3)
        mlflow.log_params({"lr": 0.1, "layers": 2})
        mlflow.set_tag("stage", "train")
        mlflow.log_dict({"classes": ["a", "b"]}, "reports/classes.json")  # MLflow's temporary file, deleted on return
        mlflow.log_artifacts(str(folder), "plots")
        with pytest.raises(MlflowException, match=r"cannot be journaled.*kedro azureml sync"):
            mlflow.start_run(nested=True)  # another run: a journal holds only the plugin's
    finally:
        bridge.deactivate()
    assert mlflow.get_tracking_uri() == uri_before
    journal.write(RunEnd("FINISHED", 1_700_000_009_000))
    journal.close()

    outcome = replay_journal(journal.path, client_ops.make_client)  # what `kedro azureml sync` does

    assert outcome.stopped is None and not journal.path.exists()
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    assert run.data.tags["kedro.run_key"] == seen_id  # the id node code saw is the run's key
    assert run.info.status == "FINISHED"
    assert [(m.value, m.step) for m in client.get_metric_history(run.info.run_id, "loss")] == [(0.25, 3)]
    assert run.data.params == {"lr": "0.1", "layers": "2"}
    assert run.data.tags["stage"] == "train"
    local = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded")))
    assert json.loads((local / "reports" / "classes.json").read_text()) == {"classes": ["a", "b"]}
    assert (local / "plots" / "curve.txt").read_text() == "0.1 0.2\n"
    assert (folder / "curve.txt").exists()  # the user's own files are copied, never moved


def test_the_journal_store_outside_such_a_run_says_what_it_is() -> None:
    with pytest.raises(MlflowException, match="no such run in this process"):
        MlflowClient(JOURNAL_URI).get_run("0" * 32)


def test_mlflow_registers_the_journal_without_importing_the_plugin_in_every_process() -> None:
    """MLflow loads every plugin at ``import mlflow.tracking``, in any process of the environment."""
    code = "import json, sys, mlflow.tracking; print(json.dumps(sorted(m for m in sys.modules if 'kedro_azure' in m)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(loaded) == [
        "kedro_azureml_mlflow",
        "kedro_azureml_mlflow.tracking",
        "kedro_azureml_mlflow.tracking.pipeline_side",
        "kedro_azureml_mlflow.tracking.pipeline_side.journal_plugin",
    ]
