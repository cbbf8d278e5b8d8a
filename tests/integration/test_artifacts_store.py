"""Artifacts against a real SQLite store and a real agent; what importing the recognisers pulls in (a fresh
interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.client.artifact_ops import register_once
from kedro_azureml_mlflow.tracking.journal.journal import RunHeader, pending_journals
from kedro_azureml_mlflow.tracking.journal.kept_files import (
    ArtifactRecord,
    kept_directory,
)
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import ArtifactUpload
from tests.integration.test_tracking_store import agent_session, sqlite_uri

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_recognising_types_imports_no_plotting_or_table_library() -> None:
    code = (
        "import sys; from kedro_azureml_mlflow.io.artifacts.formats import as_file; "
        "as_file({'a': 1}); as_file('x'); as_file(object()); "
        "print(sorted(m for m in ('matplotlib', 'plotly', 'pandas', 'mlflow') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_an_upload_the_server_cannot_take_is_journaled_with_its_file_and_synced_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the agent inherits it
    link = agent_session(tmp_path, "http://127.0.0.1:9")  # discard port: nothing listens
    report_file = tmp_path / "data" / "report.json"
    report_file.parent.mkdir()
    report_file.write_text('{"f1": 0.5}')
    model = tmp_path / "staging" / "model"
    model.mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}")
    link.hand(Batch(params=[("alpha", "0.1")]))
    link.hand(ArtifactUpload(ArtifactRecord(str(report_file), "reports")))
    link.hand(ArtifactUpload(ArtifactRecord(str(model), "model", owned=True)))
    link.close("FINISHED")
    report_file.write_text('{"f1": 0.9}')  # the next run rewrites the user's file: the journal kept its own copy

    [path] = pending_journals(tmp_path / "j")
    assert not model.exists() and kept_directory(path).is_dir()
    live = sqlite_uri(tmp_path)
    outcome = replay_journal(path, lambda _uri: client_ops.make_client(live))
    run_id = outcome.run_id
    assert outcome.sent == 4 and not kept_directory(path).exists()  # params, two uploads, end
    client = client_ops.make_client(live)
    assert {a.path for a in client.list_artifacts(run_id, "reports")} == {"reports/report.json"}
    assert {a.path for a in client.list_artifacts(run_id, "model")} == {"model/MLmodel"}
    downloaded = client.download_artifacts(run_id, "reports/report.json", str(tmp_path / "back"))
    assert Path(downloaded).read_text() == '{"f1": 0.5}'


def test_registering_the_same_folder_twice_makes_one_version(tmp_path: Path) -> None:
    uri = sqlite_uri(tmp_path)
    client = client_ops.make_client(uri)
    run_id = client_ops.create_run(client, RunHeader(uri, "units", None, None, {}, 1_700_000_000_000))
    assert register_once(client, run_id, "model", "iris-clf") == "1"
    assert register_once(client, run_id, "model", "iris-clf") == "1"  # a replayed record
    assert register_once(client, run_id, "other", "iris-clf") == "2"
    assert len(client.search_model_versions("name='iris-clf'")) == 2
