"""Journals and their replay against a real SQLite store: exactly once, and no bad journal blocks good data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import (
    ALREADY_SENT,
    Journal,
    failed_directory,
    hold_if_free,
    journal_directory,
    load_journal,
    pending_journals,
    requeue,
    taken,
)
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal
from kedro_azureml_mlflow.tracking.journal.replay_progress import ReplayProgress
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord, ArtifactUpload, RunEnd, RunHeader, to_wire
from kedro_azureml_mlflow.tracking.wire.uri_credentials import with_credentials, without_credentials
from tests.sqlite_store import migrated_sqlite_uri

EXPERIMENT = "journal-units"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return migrated_sqlite_uri(tmp_path)


def header(uri: str, run_id: str | None = None) -> RunHeader:
    return RunHeader(uri, EXPERIMENT, run_id, "unit-run", {"kedro.pipeline": "p"}, 1_700_000_000_000)


def metrics(prefix: str, count: int, step: int = 0) -> list[tuple[str, float, int, int]]:
    return [(f"{prefix}{i}", float(i) / 7, 1_700_000_000_100 + i, step) for i in range(count)]


class RecordingClient:
    """A real ``MlflowClient`` that also keeps every metric value and param it was asked to send."""

    def __init__(self, uri: str) -> None:
        self.real = client_ops.make_client(uri)
        self.sent_metrics: list[tuple[str, float, int, int]] = []
        self.sent_params: list[tuple[str, str]] = []
        self.created_runs = 0

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = (), **kw: Any) -> None:
        self.sent_metrics += [(m.key, m.value, m.timestamp, m.step) for m in metrics]
        self.sent_params += [(p.key, p.value) for p in params]
        self.real.log_batch(run_id, metrics=metrics, params=params, tags=tags, **kw)

    def create_run(self, *args: Any, **kwargs: Any) -> Any:
        self.created_runs += 1
        return self.real.create_run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def runs(uri: str) -> list[Any]:
    client = client_ops.make_client(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id]) if experiment else []


def history(uri: str, run_id: str, key: str) -> list[tuple[float, int]]:
    return [(m.value, m.step) for m in client_ops.make_client(uri).get_metric_history(run_id, key)]


def journal_with(directory: Path, head: RunHeader, *records: dict[str, Any]) -> Path:
    journal = Journal(directory, head)
    for record in records:
        journal.write(record)
    journal.close()
    return journal.path


# --- exactly once: a replay that died with a record in flight -------------------------------------


def test_a_record_the_server_took_before_the_crash_is_not_sent_again(tmp_path: Path, store: str) -> None:
    run_id = client_ops.create_run(client_ops.make_client(store), header(store))
    first = Batch(metrics=metrics("a", 30), params=[("alpha", "1")])
    second = Batch(metrics=metrics("b", 20))
    path = journal_with(tmp_path / "j", header(store, run_id), first, second, RunEnd("FINISHED", 2))
    # An earlier replay marked the first record (line 2) in flight, sent it, and died before noting it done.
    client_ops.send_record(client_ops.make_client(store), run_id, first)
    ReplayProgress.load(path).sending(2)

    client = RecordingClient(store)
    outcome = replay_journal(path, lambda _uri: client)

    assert outcome.sent == 3 and outcome.stopped is None and not path.exists()
    assert [key for key, *_ in client.sent_metrics] == [f"b{i}" for i in range(20)]  # only the second record
    assert client.sent_params == []
    for i in range(30):
        assert history(store, run_id, f"a{i}") == [(i / 7, 0)]
    run = client_ops.make_client(store).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"alpha": "1"}


def test_a_record_partly_taken_before_the_crash_sends_only_the_rest(tmp_path: Path, store: str) -> None:
    run_id = client_ops.create_run(client_ops.make_client(store), header(store))
    values = metrics("m", 10) + metrics("m", 10, step=1)  # one key at two steps: a history, not just a latest value
    path = journal_with(tmp_path / "j", header(store, run_id), Batch(metrics=values))
    client_ops.send_record(client_ops.make_client(store), run_id, Batch(metrics=values[:13]))
    ReplayProgress.load(path).sending(2)

    client = RecordingClient(store)
    replay_journal(path, lambda _uri: client)

    assert client.sent_metrics == values[13:]
    assert sorted(history(store, run_id, "m3")) == [(3 / 7, 0), (3 / 7, 1)]


def test_a_run_created_before_the_crash_is_found_not_created_again(tmp_path: Path, store: str) -> None:
    head = header(store)  # the run did not exist when the journal was written
    path = journal_with(tmp_path / "j", head, Batch(metrics=metrics("a", 3)), RunEnd("FINISHED", 5))
    # An earlier replay announced it was creating the run, the server created it, the replay died.
    ReplayProgress.load(path).creating_run(store, head.run_key)
    client_ops.create_run(client_ops.make_client(store), head)

    client = RecordingClient(store)
    outcome = replay_journal(path, lambda _uri: client)

    assert client.created_runs == 0
    [run] = runs(store)
    assert run.info.run_id == outcome.run_id and run.info.status == "FINISHED" and len(run.data.metrics) == 3


def test_a_run_the_live_writer_created_without_hearing_back_is_found(tmp_path: Path, store: str) -> None:
    head = header(store)
    client_ops.create_run(client_ops.make_client(store), head)  # the server created it; the answer was lost
    path = journal_with(tmp_path / "j", head, Batch(params=[("p", "1")]), RunEnd("FINISHED", 5))
    replay_journal(path, lambda _uri: client_ops.make_client(store))
    [run] = runs(store)
    assert run.data.params == {"p": "1"} and run.info.status == "FINISHED"


def test_a_resumed_run_gets_the_journal_header_tags_and_keeps_its_owners(tmp_path: Path, store: str) -> None:
    client = client_ops.make_client(store)
    run_id = client_ops.create_run(client, RunHeader(store, EXPERIMENT, None, "job", {"mlflow.source.type": "JOB"}, 1))
    head = RunHeader(store, None, run_id, "p", {"kedro.pipeline": "p", "mlflow.source.type": "PROJECT"}, 1)
    path = journal_with(tmp_path / "j", head, Batch(metrics=metrics("a", 2)))  # no tags record

    replay_journal(path, lambda _uri: client_ops.make_client(store))

    tags = client.get_run(run_id).data.tags
    assert tags["kedro.pipeline"] == "p" and tags["mlflow.source.type"] == "JOB"
    assert client.get_run(run_id).info.status == "RUNNING"  # its owner ends it


# --- bad journals don't block good data -----------------------------------------------------------


def test_a_truncated_last_line_delivers_every_valid_record_and_sets_the_rest_aside(tmp_path: Path, store: str) -> None:
    run_id = client_ops.create_run(client_ops.make_client(store), header(store))
    records = [Batch(metrics=metrics(f"n{k}.", 250)) for k in range(2)]
    path = journal_with(tmp_path / "j", header(store, run_id), *records)
    cut = json.dumps(to_wire(RunEnd("FINISHED", 9)))[:12]
    with path.open("a") as handle:
        handle.write(cut)  # the writer died mid-line

    outcome = replay_journal(path, lambda _uri: client_ops.make_client(store))

    assert outcome.sent == 2 and not path.exists()
    assert len(client_ops.make_client(store).get_run(run_id).data.metrics) == 500
    failed = failed_directory(tmp_path / "j") / path.name
    assert outcome.failed_path == failed and cut in failed.read_text()
    assert "line 4 is not a whole record" in load_journal(failed).reasons[0]
    assert pending_journals(tmp_path / "j") == []


def test_an_empty_journal_is_removed_and_one_without_header_is_set_aside(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    directory.mkdir()
    (directory / "empty.jsonl").write_text("")
    (directory / "headless.jsonl").write_text(json.dumps(to_wire(Batch(params=[("p", "1")]))) + "\n")
    never = lambda _uri: pytest.fail("nothing here may be sent")  # noqa: E731

    assert replay_journal(directory / "empty.jsonl", never).empty
    outcome = replay_journal(directory / "headless.jsonl", never)
    assert "no header line" in outcome.set_aside[0]
    assert pending_journals(directory) == [] and (failed_directory(directory) / "headless.jsonl").exists()


def test_a_journal_whose_run_was_deleted_is_set_aside_whole(tmp_path: Path, store: str) -> None:
    client = client_ops.make_client(store)
    run_id = client_ops.create_run(client, header(store))
    path = journal_with(
        tmp_path / "j",
        header(store, run_id),
        Batch(metrics=metrics("a", 5)),
        RunEnd("FINISHED", 3),
    )
    client.delete_run(run_id)

    outcome = replay_journal(path, lambda _uri: client_ops.make_client(store))

    assert outcome.sent == 0 and f"run {run_id} is gone" in outcome.set_aside[0]
    assert len(load_journal(outcome.failed_path).records) == 2 and not path.exists()


def test_a_bad_tracking_uri_is_set_aside_and_can_be_sent_elsewhere(tmp_path: Path, store: str) -> None:
    path = journal_with(
        tmp_path / "j",
        header("foo://nowhere"),
        Batch(params=[("alpha", "1")], metrics=metrics("a", 3)),
        RunEnd("FINISHED", 1_700_000_000_500),
    )
    outcome = replay_journal(path, client_ops.make_client)
    assert outcome.set_aside and "foo://nowhere" in outcome.set_aside[0] and runs(store) == []

    retried = replay_journal(requeue(outcome.failed_path), client_ops.make_client, to_uri=store)

    assert retried.set_aside == [] and retried.stopped is None
    [run] = runs(store)
    assert run.info.run_id == retried.run_id and run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "1"} and len(run.data.metrics) == 3
    assert pending_journals(tmp_path / "j") == [] and list(failed_directory(tmp_path / "j").iterdir()) == []


def test_a_journal_retried_from_failed_sends_the_files_it_kept(tmp_path: Path, store: str) -> None:
    client = client_ops.make_client(store)
    run_id = client_ops.create_run(client, header(store))
    figure = tmp_path / "staged" / "scatter_plot.png"
    model = tmp_path / "staged" / "model"
    model.mkdir(parents=True)
    figure.write_bytes(b"\x89PNG a figure")
    (model / "MLmodel").write_text("artifact_path: model\n")
    path = journal_with(
        tmp_path / "j",
        header(store, run_id),
        ArtifactUpload(ArtifactRecord(str(figure), "plots", owned=True, label="figure")),
        ArtifactUpload(ArtifactRecord(str(model), "model", owned=True, label="model")),
        RunEnd("FINISHED", 1_700_000_000_500),
    )
    client.delete_run(run_id)
    outcome = replay_journal(path, lambda _uri: client_ops.make_client(store))
    assert outcome.set_aside and outcome.failed_path is not None  # the run was gone: set aside, files kept
    client.restore_run(run_id)  # the cause is fixed; retried as it is (`kedro azureml sync NAME`)

    retried = replay_journal(requeue(outcome.failed_path), lambda _uri: client_ops.make_client(store))

    assert retried.set_aside == [] and retried.stopped is None and retried.run_id == run_id
    assert [item.path for item in client.list_artifacts(run_id, "plots")] == ["plots/scatter_plot.png"]
    assert [item.path for item in client.list_artifacts(run_id, "model")] == ["model/MLmodel"]
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_refused_param_is_set_aside_alone(tmp_path: Path, store: str) -> None:
    client = client_ops.make_client(store)
    run_id = client_ops.create_run(client, header(store))
    client.log_param(run_id, "pipeline", "__default__")
    record = Batch(params=[("alpha", "1"), ("pipeline", "training"), ("beta", "2")])
    path = journal_with(tmp_path / "j", header(store, run_id), record, Batch(metrics=metrics("m", 2)))

    outcome = replay_journal(path, lambda _uri: client_ops.make_client(store))

    run = client.get_run(run_id)
    assert run.data.params == {"alpha": "1", "beta": "2", "pipeline": "__default__"} and len(run.data.metrics) == 2
    [(_, refused)] = load_journal(outcome.failed_path).records
    assert refused == Batch(params=[("pipeline", "training")]) and "Changing param values" in outcome.set_aside[0]


def test_a_run_opened_by_replay_is_not_left_running_when_its_journal_has_no_end(tmp_path: Path, store: str) -> None:
    path = journal_with(tmp_path / "j", header(store), Batch(metrics=metrics("a", 2)))
    replay_journal(path, lambda _uri: client_ops.make_client(store))
    [run] = runs(store)
    assert run.info.status == "FAILED" and "holds no end" in run.data.tags["kedro.error"]
    assert run.data.tags["kedro.run_key"]


def test_a_server_in_trouble_stops_the_replay_and_keeps_the_rest(tmp_path: Path, store: str) -> None:
    path = journal_with(tmp_path / "j", header("http://127.0.0.1:9"), Batch(params=[("p", "1")]))
    outcome = replay_journal(path, lambda _uri: (_ for _ in ()).throw(ConnectionError("connection refused")))
    assert outcome.stopped == "connection refused" and outcome.set_aside == [] and path.exists()


# --- a live journal, credentials, where journals go ----------------------------------------------


def test_a_journal_still_being_written_is_left_alone(tmp_path: Path, store: str) -> None:
    journal = Journal(tmp_path / "j", header(store))
    journal.write(RunEnd("FINISHED", 1))
    probe = (
        "import pathlib, sys; from kedro_azureml_mlflow.tracking.journal.journal import hold_if_free; "
        "print(hold_if_free(pathlib.Path(sys.argv[1])) is None)"
    )
    busy = subprocess.run([sys.executable, "-c", probe, str(journal.path)], capture_output=True, text=True, check=True)
    assert busy.stdout.strip() == "True"
    journal.close()
    assert hold_if_free(journal.path) is not None


def test_a_journal_taken_and_delivered_leaves_no_file_behind(tmp_path: Path, store: str) -> None:
    path = journal_with(tmp_path / "j", header(store), RunEnd("FINISHED", 1_700_000_000_001))
    with taken(path) as busy:
        assert busy is None
        replay_journal(path, lambda _uri: client_ops.make_client(store))
    assert list((tmp_path / "j").iterdir()) == []  # journal, progress marks and lock file all gone
    with taken(path) as busy:  # a second sync that listed it before it went
        assert busy == ALREADY_SENT
    assert list((tmp_path / "j").iterdir()) == []


URI = "postgresql://kedro:sk-planted-7f3a@db.example.com:5432/mlflow"


def test_the_uri_password_is_never_journaled(tmp_path: Path) -> None:
    path = journal_with(tmp_path / "j", header(URI), RunEnd("FINISHED", 1))
    text = path.read_text()
    assert "sk-planted-7f3a" not in text
    assert load_journal(path).header.tracking_uri == "postgresql://kedro@db.example.com:5432/mlflow"


def test_the_credential_comes_back_from_config_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = without_credentials(URI)
    assert with_credentials(recorded, [URI.replace("/mlflow", "/other")]) == URI
    assert with_credentials(recorded, ["postgresql://kedro:x@elsewhere.example.com/mlflow"]) == recorded
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "p@ss")
    assert with_credentials(recorded, []) == "postgresql://kedro:p%40ss@db.example.com:5432/mlflow"
    assert without_credentials("https://u:pw@h.example/x?token=abc&a=1") == "https://u@h.example/x?a=1"


def test_inside_an_azureml_job_the_journal_goes_to_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_RUN_ID", "AZUREML_RUN_ID", "AZUREML_CR_EXECUTION_WORKING_DIR_PATH"):
        monkeypatch.delenv(name, raising=False)
    assert journal_directory(tmp_path) == tmp_path / ".kedro_azureml_mlflow/journal"
    monkeypatch.setenv("MLFLOW_RUN_ID", "job-1")  # `mlflow run` alone is not a job
    assert journal_directory(tmp_path) == tmp_path / ".kedro_azureml_mlflow/journal"
    monkeypatch.setenv("AZUREML_RUN_ID", "job-1")
    monkeypatch.chdir(tmp_path)
    assert journal_directory(Path("/elsewhere")) == tmp_path / "outputs/kedro_azureml_mlflow/journal"
