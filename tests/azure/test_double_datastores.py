"""The double's datastores: what the SDK reads a job's logs from, with the real, unmodified clients."""

from __future__ import annotations

import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.azure


def _job(tmp_path: Path, script: str) -> Any:
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment

    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    (code / "main.py").write_text(textwrap.dedent(script))
    return command(
        code=str(code),
        command="python main.py",
        environment=Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250101.v1"),
        compute="cpu-cluster",
    )


def test_workspace_datastores_are_azurite_containers(azureml_double) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    ml_client = azureml_double.ml_client()

    artifacts = ml_client.datastores.get("workspaceartifactstore")
    default = ml_client.datastores.get_default()

    assert artifacts.container_name == "azureml"
    assert default.name == "workspaceblobstore"
    assert {d.name for d in ml_client.datastores.list()} == {"workspaceartifactstore", "workspaceblobstore"}
    with pytest.raises(ResourceNotFoundError, match="Could not find datastore"):
        ml_client.datastores.get("no-such-store")


def test_every_command_job_has_the_default_output_in_the_artifact_store(azureml_double, tmp_path) -> None:
    ml_client = azureml_double.ml_client()

    created = ml_client.jobs.create_or_update(_job(tmp_path, "print('hi')\n"))

    assert (
        created.outputs["default"].path
        == f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{created.name}"
    )
    assert azureml_double.wait_for_job(created.name)["status"] == "Completed"


def _release_when(condition: Callable[[], bool], flag: Path, stop: threading.Event, timeout: float = 120) -> None:
    """Create ``flag`` once ``condition()`` holds (or ``stop`` is set); the job waits on that file."""
    deadline = time.monotonic() + timeout
    while not (stop.is_set() or condition()) and time.monotonic() < deadline:
        stop.wait(0.05)
    flag.touch()


def test_stream_reads_logs_from_the_datastore_and_cannot_sign_them(azureml_double, tmp_path, capsys) -> None:
    """azure-ai-ml (<= 1.35.2) lists the log blobs with the datastore's SAS, then signs each blob's URL with that
    SAS *as if it were an account key*: base64 of a query string fails ("Incorrect padding") or yields a signature
    storage refuses (403, whose body the SDK prints as the log). Either way no log line arrives: the plugin
    follows logs another way. If this starts to fail, the SDK was fixed."""
    import binascii

    flag = tmp_path / "release"
    script = f"""
        import pathlib, time
        print('streamed line', flush=True)
        deadline = time.monotonic() + 120
        while not pathlib.Path({str(flag)!r}).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    """
    ml_client = azureml_double.ml_client()
    created = ml_client.jobs.create_or_update(_job(tmp_path, script))
    since = azureml_double.last_seq()
    log_blob = f"/azureml/ExperimentRun/dcid.{created.name}/user_logs/std_log.txt"
    stream_ended = threading.Event()
    # The job runs until the SDK has tried to download its log blob (or the stream gave up).
    releaser = threading.Thread(
        target=_release_when,
        args=(lambda: bool(azureml_double.requests(since, path_contains=log_blob)), flag, stream_ended),
    )
    releaser.start()
    try:
        ml_client.jobs.stream(created.name)
    except binascii.Error:
        pass
    else:
        assert "AuthorizationFailure" in capsys.readouterr().out
    finally:
        stream_ended.set()
        releaser.join()

    paths = [(r["method"], r["path"]) for r in azureml_double.requests(since)]
    assert ("GET", f"{azureml_double.workspace_scope}/datastores/workspaceartifactstore") in paths
    assert ("POST", f"{azureml_double.workspace_scope}/datastores/workspaceartifactstore/listSecrets") in paths
    assert "streamed line" not in capsys.readouterr().out
    azureml_double.wait_for_job(created.name)
    assert "streamed line" in azureml_double.job_log(created.name)


def test_download_of_an_ended_job_brings_its_log(azureml_double, tmp_path) -> None:
    ml_client = azureml_double.ml_client()
    created = ml_client.jobs.create_or_update(_job(tmp_path, "print('kept in the artifact store')\n"))
    assert azureml_double.wait_for_job(created.name)["status"] == "Completed"

    ml_client.jobs.download(created.name, download_path=tmp_path / "dl")

    log = tmp_path / "dl" / "artifacts" / "user_logs" / "std_log.txt"
    assert "kept in the artifact store" in log.read_text()
