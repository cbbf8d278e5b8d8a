"""The tracking agent and replay, against a real SQLite store or a real mlflow server."""

from __future__ import annotations

import json
import os
import secrets
import signal
from functools import partial
from pathlib import Path

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from kedro_azureml_mlflow.core import compat
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import Journal, load_journal, pending_journals
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal
from kedro_azureml_mlflow.tracking.pipeline_side.launcher import agent_endpoint, log_file, reach_agent
from kedro_azureml_mlflow.tracking.pipeline_side.link import AgentLink
from kedro_azureml_mlflow.tracking.pipeline_side.worker import WorkerLink
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.batching import (
    Batch,
)
from kedro_azureml_mlflow.tracking.wire.protocol import SessionSpec, TargetAnswer, WorkerShare
from kedro_azureml_mlflow.tracking.wire.records import RunHeader, to_wire
from tests.sqlite_store import migrated_sqlite_uri
from tests.tracking_server import RecordingProxy
from tests.waiting import wait_until


def sqlite_uri(tmp_path: Path) -> str:
    return migrated_sqlite_uri(tmp_path)


def header(uri: str, run_id: str | None = None) -> RunHeader:
    return RunHeader(uri, "units", run_id, "unit-run", {"kedro.pipeline": "p"}, 1_700_000_000_000)


def agent_session(
    tmp_path: Path, uri: str, resume: str | None = None, max_wait: float = 30.0, flush: float = 60.0
) -> AgentLink:
    """A session with a real agent process of its own (no reuse), as the hooks open one."""
    target = TargetSpec(uri, "units", resume, uri)
    spec = SessionSpec(secrets.token_hex(8), to_wire(target), str(tmp_path), str(tmp_path / "j"), flush, max_wait)
    endpoint = agent_endpoint(tmp_path, 0)
    link = AgentLink(spec, partial(reach_agent, endpoint, tmp_path, 0, ["mlflow.tracking"]))
    link.open_run("unit-run", {"kedro.pipeline": "p"}, 1_700_000_000_000)
    return link


def test_agent_batches_everything_into_one_run_with_few_requests_counted_on_the_wire(
    tmp_path: Path, mlflow_server: MlflowServer, recording_proxy: RecordingProxy
) -> None:
    link = agent_session(tmp_path, recording_proxy.url)
    link.hand(Batch(params=[("alpha", "0.1")]))
    for node in range(100):
        link.hand(Batch(metrics=[(f"n{node}.m{k}", float(k), 1, 0) for k in range(5)]))
    report = link.close("FINISHED")

    observed = len(recording_proxy.requests)
    run = client_ops.make_client(mlflow_server.url).get_run(report.run_id)
    assert run.info.status == "FINISHED"
    assert len(run.data.metrics) == 500 and run.data.params == {"alpha": "0.1"}
    assert run.data.tags["kedro.pipeline"] == "p"
    # look up + create the experiment, create the run, 1 params request, 2 metric requests, end run:
    # far from one per value.
    assert observed <= 7
    assert report.journaled == 0 and pending_journals(tmp_path / "j") == []


def test_a_failed_session_still_ends_its_run_and_journals_what_it_held(tmp_path: Path) -> None:
    # A flush interval no clock can wait for (the config refuses it; a session given one fails) stands
    # in for any bug that ends the agent's session thread after it opened the run.
    uri = sqlite_uri(tmp_path)
    link = agent_session(tmp_path, uri, flush=1e308)
    link.hand(Batch(params=[("alpha", "0.1")], metrics=[("loss", 0.5, 1, 0)]))
    assert link.run_info(60) is not None  # the run is open; the session thread goes on to wait for a flush
    # and fails there, unless the end arrives first (a loaded machine): it would then send all, crash-free.
    failed = f"Tracking session {link.spec.session_id} failed"
    wait_until(lambda: failed in log_file().read_text(errors="replace"), 60, "the session thread to fail")
    report = link.close("FINISHED")

    client = client_ops.make_client(uri)
    [run] = client.search_runs([client.get_experiment_by_name("units").experiment_id])
    assert run.info.status == "FINISHED"  # not left RUNNING
    assert report.run_id == run.info.run_id and report.journaled == 1
    [path] = pending_journals(tmp_path / "j")
    contents = load_journal(path)
    assert contents.header is not None and contents.header.run_id == run.info.run_id
    assert [record for _, record in contents.records] == [
        Batch(params=[("alpha", "0.1")], metrics=[("loss", 0.5, 1, 0)])
    ]
    outcome = replay_journal(path, lambda _uri: client_ops.make_client(uri))  # sync fills the same run
    assert outcome.run_id == run.info.run_id
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.5}


def test_unreachable_server_is_journaled_and_replayed_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the agent inherits it
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    link = agent_session(tmp_path, dead)
    link.hand(Batch(params=[("alpha", "0.1")], metrics=[("loss", 0.5, 1, 0), ("loss", 0.25, 2, 1)]))
    report = link.close("FINISHED")
    assert report.run_id is None and report.journaled == 3  # params, metrics (never in one request), the end
    [path] = pending_journals(tmp_path / "j")
    assert json.loads(path.read_text().splitlines()[0])["header"]["tracking_uri"] == dead

    # The server is back (here: a SQLite store standing in for it, same records).
    live = sqlite_uri(tmp_path)
    outcome = replay_journal(path, lambda _uri: client_ops.make_client(live))
    run_id = outcome.run_id
    assert outcome.sent == 3 and outcome.stopped is None and not path.exists()
    client = client_ops.make_client(live)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"alpha": "0.1"}
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5, 0.25]
    assert pending_journals(tmp_path / "j") == []  # a second sync finds nothing to send again


def test_a_dead_agent_leaves_what_it_had_not_settled_to_the_pipelines_journal(tmp_path: Path) -> None:
    uri = sqlite_uri(tmp_path)
    link = agent_session(tmp_path, uri)  # flush interval 60 s: what is handed over stays pending in the agent
    info = link.run_info(120)
    assert info is not None  # the run exists
    link.hand(Batch(metrics=[("loss", 0.5, 1, 0)]))
    target = link.wait_for(TargetAnswer, 5)
    assert target is not None
    os.kill(int(target.agent_pid or 0), signal.SIGKILL)
    report = link.close("FINISHED")

    assert report.journaled == 2
    [path] = pending_journals(tmp_path / "j")
    assert json.loads(path.read_text().splitlines()[0])["header"]["run_id"] == info["run_id"]
    replay_journal(path, lambda _uri: client_ops.make_client(uri))
    run = client_ops.make_client(uri).get_run(info["run_id"])  # the same run, not a second one
    assert run.info.status == "FINISHED" and run.data.metrics == {"loss": 0.5}


@pytest.mark.parametrize("worker_first", [True, False])
def test_a_workers_records_after_the_agent_died_replay_into_the_parents_run(tmp_path: Path, worker_first: bool) -> None:
    uri = sqlite_uri(tmp_path)
    link = agent_session(tmp_path, uri)
    info = link.run_info(120)
    target = link.wait_for(TargetAnswer, 5)
    assert info is not None and target is not None
    os.kill(int(target.agent_pid or 0), signal.SIGKILL)
    spec = link.spec
    share = WorkerShare(
        endpoint=agent_endpoint(tmp_path, 0),  # nobody listens there: the worker journals
        session_id=spec.session_id,
        patterns=(),
        separator=".",
        journal_dir=spec.journal_dir,
        target=spec.target,
        max_wait=0.1,
        run=link.run_header,
    )
    WorkerLink(share).hand(Batch(metrics=[("from_worker", 1.0, 1, 0)]))
    link.hand(Batch(metrics=[("from_parent", 2.0, 1, 0)]))
    link.close("FINISHED")

    def from_the_worker(path: Path) -> bool:  # the parent's journal knows the run's id
        header = load_journal(path).header
        return header is not None and header.run_id is None

    journals = sorted(pending_journals(tmp_path / "j"), key=from_the_worker, reverse=worker_first)
    assert [from_the_worker(path) for path in journals] == [worker_first, not worker_first]
    for path in journals:
        replay_journal(path, lambda _uri: client_ops.make_client(uri))
    client = client_ops.make_client(uri)
    [run] = client.search_runs([client.get_experiment_by_name("units").experiment_id])  # no second run
    assert run.info.run_id == info["run_id"] and run.info.status == "FINISHED"
    assert run.data.metrics == {"from_worker": 1.0, "from_parent": 2.0}
    assert "kedro.error" not in run.data.tags  # the worker's journal, holding no end, did not end the run


def test_replay_keeps_what_failed_for_the_next_try(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    live = sqlite_uri(tmp_path)
    run_id = client_ops.create_run(client_ops.make_client(live), header(live))
    journal = Journal(tmp_path / "journal", header(live, run_id))
    journal.write(Batch(metrics=[("a", 1.0, 1, 0)]))
    journal.write(Batch(metrics=[("b", 2.0, 1, 0)]))

    class FlakyClient:
        """Takes the first two requests (the run's tags from the header, then record "a"), then 'goes away'."""

        def __init__(self) -> None:
            self.real, self.calls = client_ops.make_client(live), 0

        def log_batch(self, *args, **kwargs):
            self.calls += 1
            if self.calls > 2:
                raise ConnectionError("server went away")
            return self.real.log_batch(*args, **kwargs)

    stopped = replay_journal(journal.path, lambda _uri: FlakyClient())
    assert stopped.sent == 1 and stopped.stopped == "server went away" and journal.path.exists()
    replay_journal(journal.path, lambda _uri: client_ops.make_client(live))
    assert not journal.path.exists()
    metrics = client_ops.make_client(live).get_run(run_id).data.metrics
    assert metrics == {"a": 1.0, "b": 2.0}
    assert len(client_ops.make_client(live).get_metric_history(run_id, "a")) == 1


def test_a_refused_param_on_a_resumed_run_does_not_take_the_others_down(tmp_path: Path) -> None:
    uri = sqlite_uri(tmp_path)
    client = client_ops.make_client(uri)
    run_id = client_ops.create_run(client, header(uri))
    client.log_param(run_id, "pipeline", "__default__")  # as `mlflow run` logs its MLproject parameters

    link = agent_session(tmp_path, uri, resume=run_id)
    link.hand(Batch(params=[("alpha", "1"), ("pipeline", "training"), ("beta", "2")]))
    report = link.close("FINISHED")

    params = client.get_run(run_id).data.params
    assert params == {"alpha": "1", "beta": "2", "pipeline": "__default__"}
    assert len(report.dropped) == 1 and "1 params" in report.dropped[0]
    assert client.get_run(run_id).info.status == "RUNNING"  # a resumed run is left to its owner


def test_a_forgotten_sql_store_is_opened_afresh(tmp_path: Path) -> None:
    """MLflow keeps a SQLite store (its file open) per URI for the process; forgetting it must reach a new file."""
    from mlflow.tracking import MlflowClient

    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database.as_posix()}"
    try:
        MlflowClient(uri).create_experiment("before")
        database.unlink()
        compat.forget_sql_store(uri)
        MlflowClient(uri).create_experiment("after")  # without forgetting: "attempt to write a readonly database"

        assert database.exists()
        assert {e.name for e in MlflowClient(uri).search_experiments()} == {"Default", "after"}
    finally:
        compat.forget_sql_store(uri)  # nothing of this test's store stays in the process
