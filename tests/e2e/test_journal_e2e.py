"""``kedro azureml sync`` and first runs end to end: real ``kedro`` processes, a real ``mlflow server``, real SQLite."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME, Journal, pending_journals
from kedro_azureml_mlflow.tracking.wire.batching import Batch, chunk
from kedro_azureml_mlflow.tracking.wire.records import RunEnd, RunHeader
from tests.kedro_project import KEDRO, KedroProject, clean_env
from tests.ports import free_port
from tests.tracking_server import Crash, Recorded, RecordingProxy

pytestmark = pytest.mark.slow

PLANTED = "sk-planted-5e2b9"


def journal_in(project: KedroProject, head: RunHeader, records: list[dict[str, Any]]) -> Path:
    journal = Journal(project.path / JOURNAL_DIRNAME, head)
    for record in records:
        journal.write(record)
    journal.close()
    return journal.path


def a_run_journal(project: KedroProject, uri: str, experiment: str) -> tuple[Path, list[tuple[str, float, int, int]]]:
    """What a run that never reached the server journals: params, 500 metric values in 2 requests, its end."""
    values = [(f"node_{i}.m{k}", i * 10 + k + 0.5, 1_700_000_000_000 + i, 0) for i in range(100) for k in range(5)]
    head = RunHeader(uri, experiment, None, "crashy", {"kedro.pipeline": "many"}, 1_700_000_000_000)
    batch = Batch(metrics=values, params=[("seed", "42"), ("model.alpha", "0.25")])
    records = [*chunk(batch), RunEnd("FINISHED", 1_700_000_001_000)]
    return journal_in(project, head, records), values


def sync(project: KedroProject, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return project.kedro("azureml", "sync", *args, env=env or clean_env())


def posted_metrics(proxy: RecordingProxy) -> list[tuple[str, float, int, int]]:
    return [
        (m["key"], m["value"], int(m["timestamp"]), int(m.get("step", 0)))
        for body in proxy.posted("/runs/log-batch")
        for m in body.get("metrics", [])
    ]


# --- crash during replay: exactly once ------------------------------------------------------------


def _create(record: Recorded) -> bool:
    return record.method == "POST" and record.path.endswith("/runs/create")


def _metrics_batch(record: Recorded) -> bool:
    return record.method == "POST" and record.path.endswith("/runs/log-batch") and bool(record.body.get("metrics"))


def _end(record: Recorded) -> bool:
    return record.method == "POST" and record.path.endswith("/runs/update")


@pytest.mark.parametrize(
    ("point", "matches", "count"),
    [
        ("run created", _create, 1),
        ("first metrics taken", _metrics_batch, 1),
        ("second metrics taken", _metrics_batch, 2),
        ("run ended", _end, 1),
    ],
)
def test_sync_killed_between_send_and_journal_mark_delivers_each_value_exactly_once(
    project: KedroProject,
    recording_proxy: RecordingProxy,
    mlflow_server: MlflowServer,
    point: str,
    matches: Any,
    count: int,
) -> None:
    experiment = f"crash-{point.replace(' ', '-')}"
    path, values = a_run_journal(project, recording_proxy.url, experiment)

    crashed = subprocess.Popen(
        [KEDRO, "azureml", "sync"],
        cwd=project.path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    recording_proxy.crash = Crash(crashed.pid, matches, count)
    output, _ = crashed.communicate(timeout=300)
    assert crashed.returncode == -9, f"sync was not killed at '{point}': {output[-3000:]}"
    assert recording_proxy.crash.done.is_set() and path.exists()

    recording_proxy.crash = None
    resumed = sync(project)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    client = project.client(mlflow_server.url)
    [run] = project.runs(uri=mlflow_server.url, experiment=experiment)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"seed": "42", "model.alpha": "0.25"}
    assert len(recording_proxy.posted("/runs/create")) == 1  # one run, created once
    assert sorted(posted_metrics(recording_proxy)) == sorted(values)  # every value sent exactly once
    for key in ("node_0.m0", "node_49.m4", "node_50.m0", "node_99.m4"):
        assert len(client.get_metric_history(run.info.run_id, key)) == 1
    assert pending_journals(project.path / JOURNAL_DIRNAME) == []


# --- poisoned journals ----------------------------------------------------------------------------


def test_bad_journals_never_block_good_ones_and_the_next_sync_exits_0(project: KedroProject) -> None:
    store = project.store_uri
    client = client_ops.make_client(store)
    head = RunHeader(store, "probe", None, "r", {}, 1_700_000_000_000)
    good_run, gone_run = (client_ops.create_run(client, head) for _ in range(2))
    values = [(f"m{i}", float(i), 1_700_000_000_000, 0) for i in range(250)]
    truncated = journal_in(project, RunHeader(store, "probe", good_run, "r", {}, 1), [Batch(metrics=values)])
    with truncated.open("a") as handle:
        handle.write('{"end": "FINI')
    gone = journal_in(project, RunHeader(store, "probe", gone_run, "r", {}, 1), [Batch(params=[("p", "1")])])
    client.delete_run(gone_run)
    bad_uri = journal_in(
        project,
        RunHeader("foo://nowhere", "probe", None, "r", {}, 1),
        [Batch(params=[("q", "2")]), RunEnd("FINISHED", 2)],
    )
    (project.path / JOURNAL_DIRNAME / "0-empty.jsonl").write_text("")

    first = sync(project)
    out = first.stdout + first.stderr
    assert first.returncode != 0
    assert f"{truncated.name}: sent 1 records to run {good_run}" in out
    assert f"{gone.name}: set aside" in out and f"{bad_uri.name}: set aside" in out and "foo://nowhere" in out
    assert "0-empty.jsonl: empty, removed" in out
    assert len(client.get_run(good_run).data.metrics) == 250
    errors = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith("Error: 3 of 4 journals were not sent in full")
    assert all(path.name in errors[0] for path in (truncated, gone, bad_uri))

    again = sync(project)
    assert again.returncode == 0 and "Nothing to send" in again.stdout

    elsewhere = f"sqlite:///{(project.path / 'elsewhere.db').as_posix()}"
    moved = sync(project, "--to", elsewhere, bad_uri.name)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    [run] = project.runs(uri=elsewhere)
    assert run.info.status == "FINISHED" and run.data.params == {"q": "2"}

    mixed = sync(project, "--discard", gone.name, "--to", elsewhere)
    assert mixed.returncode != 0 and [line for line in mixed.stderr.splitlines() if line.startswith("Error: ")] == [
        "Error: --discard deletes journals unsent: give it without JOURNAL arguments, --to or --job"
    ]
    dropped = sync(project, "--discard", gone.name)
    assert dropped.returncode == 0 and f"{gone.name}: discarded" in dropped.stdout
    failed = project.path / JOURNAL_DIRNAME / "failed"
    assert sorted(p.name for p in failed.glob("*.jsonl")) == [truncated.name]  # the cut line, kept for a human
    assert [r.info.run_id for r in project.runs()] == [good_run]  # replay opened no empty run for the bad ones


# --- first-run race -------------------------------------------------------------------------------


# Test-only: every `kedro run` imports MLflow's SQL store up front and then waits (its project settings are
# read first thing) until all four are there, so that they open the fresh store together, as four runs
# started at once on a quiet machine do (on two busy cores, import times alone would keep them apart).
START_TOGETHER = """
import os as _os, pathlib as _pathlib, time as _time
import mlflow.store.tracking.sqlalchemy_store, mlflow.tracking
_arrived = _pathlib.Path(_os.environ["START_TOGETHER_DIR"])
(_arrived / str(_os.getpid())).touch()
_deadline = _time.monotonic() + 300
while len(list(_arrived.iterdir())) < 4 and _time.monotonic() < _deadline:
    _time.sleep(0.01)
"""


def test_four_concurrent_first_runs_all_complete_without_journaling(project: KedroProject, tmp_path: Path) -> None:
    assert not (project.path / "mlflow.db").exists()
    settings = project.path / "src/probe/settings.py"
    settings.write_text(settings.read_text() + START_TOGETHER)
    (tmp_path / "arrived").mkdir()
    runs = [
        subprocess.Popen(
            [KEDRO, "run", "--pipeline", "many"],
            cwd=project.path,
            env=clean_env(START_TOGETHER_DIR=str(tmp_path / "arrived")),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    assert not any("kedro azureml sync" in output for output in outputs), outputs
    assert pending_journals(project.path / JOURNAL_DIRNAME) == []
    tracked = project.runs()
    assert len(tracked) == 4 and all(r.info.status == "FINISHED" and len(r.data.metrics) == 500 for r in tracked)


# --- the tracking URI's password ------------------------------------------------------------------


def test_a_password_in_the_tracking_uri_is_never_journaled_nor_printed_by_sync(
    project: KedroProject, mlflow_server: MlflowServer
) -> None:
    port = free_port()  # nothing listens there during the run: everything is journaled
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: http://kedro:{PLANTED}@127.0.0.1:{port}\n")
    project.run(env=clean_env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"))
    [journal] = pending_journals(project.path / JOURNAL_DIRNAME)
    assert PLANTED not in journal.read_text() and f"http://kedro@127.0.0.1:{port}" in journal.read_text()

    proxy = RecordingProxy(mlflow_server.port, port=port).start()  # the server is back
    try:
        synced = sync(project)
    finally:
        proxy.stop()
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert PLANTED not in synced.stdout + synced.stderr
    assert f"http://kedro@127.0.0.1:{port}" in synced.stdout
    # The credential came back from azureml.yml: the server was asked with it.
    expected = "Basic " + base64.b64encode(f"kedro:{PLANTED}".encode()).decode()
    assert proxy.requests and all(r.headers.get("Authorization") == expected for r in proxy.requests)
    [run] = project.runs(uri=mlflow_server.url)
    assert run.info.status == "FINISHED" and run.data.metrics["score_metrics"] == pytest.approx(0.42)
    assert not list((project.path / JOURNAL_DIRNAME).rglob("*.jsonl"))
