"""The MLflow calls behind one ``{"artifact": …}`` record: upload, then register once if asked.

Only calls that Azure ML's MLflow service answers: run artifacts (``log_artifact(s)``, which
azureml-mlflow sends to the workspace's blob storage in parts, each retried by the storage
client) and the model registry's create calls. Never MLflow 3's logged-models API, which Azure
ML answers 404. Sending the same record twice is harmless: an upload overwrites the same
files, and a model version already registered from this run and folder is not registered again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_ALREADY_EXISTS = {"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"}


class MissingFile(FileNotFoundError):
    """The file to upload is gone: sending again cannot help (a refusal, not an outage)."""

    error_code = "INVALID_PARAMETER_VALUE"


def send_artifact(client: MlflowClient, run_id: str, record: ArtifactRecord) -> None:
    """Upload, register if asked, then delete the plugin's own copy (only once all of it went)."""
    path = Path(record.local_path)
    if not path.exists():
        raise MissingFile(f"{path} no longer exists")
    with workspace_artifacts_reachable(str(client.tracking_uri)):
        if path.is_dir():
            client.log_artifacts(run_id, str(path), record.artifact_path)
        else:
            client.log_artifact(run_id, str(path), record.artifact_path)
    if record.register_as:
        register_once(client, run_id, record.artifact_path or "", record.register_as)
    discard(record)


@contextmanager
def workspace_artifacts_reachable(tracking_uri: str) -> Iterator[None]:
    """Make an ``azureml://`` tracking URI the process's MLflow tracking URI for the duration.

    azureml-mlflow's artifact repository signs in through the store of the *global* tracking URI
    (it builds ``MlflowClient()`` without one), whichever client asked for the upload; any other
    global URI makes it demand a token inside the artifact URI. Restored afterwards. One upload at a
    time holds it: the agent serves several projects' runs at once, each on a thread, possibly into
    different workspaces, and the global URI is the process's.
    """
    if urlparse(tracking_uri).scheme != "azureml":
        yield
        return
    import mlflow

    with _GLOBAL_URI_LOCK:
        previous = os.environ.get("MLFLOW_TRACKING_URI")  # mlflow.set_tracking_uri keeps it in step
        mlflow.set_tracking_uri(tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None unsets it, as before


_GLOBAL_URI_LOCK = threading.Lock()


def register_once(client: MlflowClient, run_id: str, artifact_path: str, name: str) -> str:
    """The version of ``name`` registered from the run's ``artifact_path``, creating it if needed."""
    from mlflow.exceptions import MlflowException

    source = f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{artifact_path}".rstrip("/")
    for version in client.search_model_versions(f"name='{name}'"):
        if version.run_id == run_id and (version.source or "").rstrip("/") == source:
            return str(version.version)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in _ALREADY_EXISTS:
            raise
    return str(client.create_model_version(name, source, run_id=run_id).version)


def discard(record: ArtifactRecord) -> None:
    """Remove the plugin's own copy once the server has it (never the user's files)."""
    if not record.owned:
        return
    path = Path(record.local_path)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    for folder in (path.parent, path.parent.parent):  # its slot, then a journal's kept folder, once empty
        with contextlib.suppress(OSError):
            folder.rmdir()
