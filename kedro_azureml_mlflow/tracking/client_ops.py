"""The few MLflow calls the plugin makes, by explicit run id (never the thread-local active run).

Shared by the live writer and journal replay so both speak to the server the same way.
"""

from __future__ import annotations

import os
from typing import Any

from kedro_azureml_mlflow.tracking.batching import Batch
from kedro_azureml_mlflow.tracking.journal import RunHeader

# Error codes that mean "the server understood and refused": retrying or journaling won't help.
_PERMANENT_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST"}


def make_client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def experiment_id_for(client: Any, name: str) -> str:
    """The experiment's id, creating it on first use (tolerating a concurrent creator)."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


def create_run(client: Any, header: RunHeader) -> str:
    return str(open_run(client, header)["run_id"])


def open_run(client: Any, header: RunHeader) -> dict[str, Any]:
    """Create the run described by ``header``; its info (see ``info_of``)."""
    experiment_id = experiment_id_for(client, header.experiment_name or "Default")
    run = client.create_run(experiment_id, start_time=header.start_time_ms, tags=header.tags, run_name=header.run_name)
    return info_of(run)


def info_of(run: Any) -> dict[str, Any]:
    """A run's info as JSON, enough for node code's fluent API to treat it as the active run."""
    info = run.info
    names = ("run_id", "experiment_id", "user_id", "status", "start_time", "end_time", "lifecycle_stage")
    return {
        **{name: getattr(info, name) for name in names},
        "artifact_uri": info.artifact_uri,
        "run_name": info.run_name,
    }


def log_request(client: Any, run_id: str, part: Batch) -> None:
    """One ``log_batch`` request; ``part`` must already be within limits (see ``batching.chunk``)."""
    from mlflow.entities import Metric, Param, RunTag

    client.log_batch(
        run_id,
        metrics=[Metric(key, value, timestamp, step) for key, value, timestamp, step in part.metrics],
        params=[Param(key, value) for key, value in part.params],  # type: ignore[no-untyped-call]  # MLflow is untyped
        tags=[RunTag(key, value) for key, value in part.tags],  # type: ignore[no-untyped-call]  # MLflow is untyped
        synchronous=True,
    )


def end_run(client: Any, run_id: str, status: str, end_time_ms: int) -> None:
    """End the run; without MLflow's "View run at" print, which costs one more request."""
    from mlflow.environment_variables import MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT as SUPPRESS

    previous = os.environ.get(SUPPRESS.name)
    SUPPRESS.set(True)  # type: ignore[no-untyped-call]  # the hooks say where the run is themselves
    try:
        client.set_terminated(run_id, status=status, end_time=end_time_ms)
    finally:
        if previous is None:
            SUPPRESS.unset()  # type: ignore[no-untyped-call]  # MLflow is untyped
        else:
            os.environ[SUPPRESS.name] = previous


def send_record(client: Any, run_id: str, record: dict[str, Any]) -> None:
    """Send one journal-format record to the run: the one dispatch shared by the agent and replay.

    A ``Batch`` record must already be within limits (see ``batching.chunk``).
    """
    if "end" in record:
        end_run(client, run_id, record["end"], record["end_time_ms"])
    elif is_batch(record):
        log_request(client, run_id, Batch.from_json(record))
    else:
        raise ValueError(f"unknown record kind: {sorted(record)}")


def is_batch(record: dict[str, Any]) -> bool:
    return set(record) <= {"metrics", "params", "tags"}


def is_permanent(exc: BaseException) -> bool:
    """A refusal (bad value, changed param on a resumed run) rather than a server in trouble."""
    return getattr(exc, "error_code", None) in _PERMANENT_CODES
