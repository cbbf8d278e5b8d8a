"""The few MLflow calls the plugin makes, by explicit run id (never the thread-local active run).

Shared by the live writer and journal replay so both speak to the server the same way. What
crosses to the tracking process and what a journal holds is one :data:`~..wire.records.Record` per
line, dispatched by class in :func:`send_record`; a new kind adds a branch there and one in ``idempotency``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.client.store_lock import store_creation_lock
from kedro_azureml_mlflow.tracking.client.store_template import start_from_template
from kedro_azureml_mlflow.tracking.wire.batching import Batch, chunk
from kedro_azureml_mlflow.tracking.wire.records import ArtifactUpload, Record, RunEnd, RunHeader

if TYPE_CHECKING:
    from mlflow.entities import Experiment, Run
    from mlflow.tracking import MlflowClient

# Error codes that mean "the server understood and refused": retrying or journaling won't help.
_PERMANENT_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST"}
RUN_KEY_TAG = "kedro.run_key"

logger = logging.getLogger(__name__)


def make_client(tracking_uri: str, artifact_root: str | None = None) -> MlflowClient:
    """The one place an ``MlflowClient`` is made; concurrent first uses of a SQLite store wait their turn.

    ``artifact_root``: a SQL store's root for new experiments' artifacts (MLflow's default is ``./mlruns`` of
    the process's current folder, which for the agent is no project's).
    """
    from mlflow.tracking import MlflowClient

    with store_creation_lock(tracking_uri):
        start_from_template(tracking_uri, artifact_root)  # a new SQLite store: a copy, not 50 migrations
        if artifact_root is not None:
            from kedro_azureml_mlflow.core.compat import client_with_artifact_root

            return client_with_artifact_root(tracking_uri, artifact_root)
        return MlflowClient(tracking_uri=tracking_uri)


class ExperimentDeleted(RuntimeError):
    """The run's experiment is deleted: no run can be created in it until it is restored (or renamed)."""

    def __init__(self, name: str, experiment_id: str, tracking_uri: str) -> None:
        from kedro_azureml_mlflow.core.redaction import mask_uri

        self.name, self.experiment_id, self.tracking_uri = name, experiment_id, mask_uri(tracking_uri)
        super().__init__(
            f"the experiment {name!r} (id {experiment_id}) is deleted: restore it, or set tracking.experiment "
            "to another name"
        )


@dataclass(frozen=True)
class ExperimentLookup:
    """What ``get_experiment_by_name`` returned for the run's experiment (``None``: none yet)."""

    experiment: Experiment | None


def deleted_experiment(lookup: ExperimentLookup) -> Experiment | None:
    """The experiment looked up, if it is deleted (``None``: it exists, or does not yet)."""
    experiment = lookup.experiment
    return experiment if experiment is not None and experiment.lifecycle_stage == "deleted" else None


def experiment_id_for(
    client: MlflowClient, name: str, restore: bool = False, lookup: ExperimentLookup | None = None
) -> str:
    """The experiment's id, creating it on first use (tolerating a concurrent creator).

    A deleted experiment raises :class:`ExperimentDeleted`, unless ``restore`` (then it is restored).
    ``lookup``: the experiment as already looked up by name (else it is looked up now).
    """
    from mlflow.exceptions import MlflowException

    lookup = lookup or ExperimentLookup(client.get_experiment_by_name(name))
    experiment = lookup.experiment
    if experiment is not None:
        if deleted_experiment(lookup) is not None:
            if not restore:
                raise ExperimentDeleted(name, str(experiment.experiment_id), str(client.tracking_uri))
            client.restore_experiment(experiment.experiment_id)
            logger.info("Restored the deleted experiment %r (tracking.restore_deleted_experiment)", name)
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


def create_run(client: MlflowClient, header: RunHeader, experiment_id: str | None = None) -> str:
    return str(open_run(client, header, experiment_id=experiment_id)["run_id"])


def open_run(
    client: MlflowClient,
    header: RunHeader,
    restore: bool = False,
    lookup: ExperimentLookup | None = None,
    experiment_id: str | None = None,
) -> dict[str, Any]:
    """Create the header's run, tagged with its ``run_key`` (see ``idempotency.find_created_run``); its info.

    ``restore``, ``lookup``: as for :func:`experiment_id_for`; ``experiment_id``: known already (a child run's,
    its parent's), not looked up.
    """
    experiment_id = experiment_id or experiment_id_for(client, header.experiment_name or "Default", restore, lookup)
    tags = {**header.tags, RUN_KEY_TAG: header.run_key}
    run = client.create_run(experiment_id, start_time=header.start_time_ms, tags=tags, run_name=header.run_name)
    return info_of(run)


def info_of(run: Run) -> dict[str, Any]:
    """A run's info as JSON, enough for node code's fluent API to treat it as the active run."""
    info = run.info
    names = ("run_id", "experiment_id", "user_id", "status", "start_time", "end_time", "lifecycle_stage")
    return {
        **{name: getattr(info, name) for name in names},
        "artifact_uri": info.artifact_uri,
        "run_name": info.run_name,
    }


def send_record(client: MlflowClient, run_id: str, record: Record) -> None:
    """Send one journaled or handed-over record to the run (one or a few requests)."""
    if isinstance(record, RunEnd):
        end_run(client, run_id, record.end, record.end_time_ms)
    elif isinstance(record, Batch):
        for part in chunk(record):
            log_request(client, run_id, part)
    elif isinstance(record, ArtifactUpload):
        from kedro_azureml_mlflow.tracking.client.artifact_ops import send_artifact

        send_artifact(client, run_id, record.artifact)
    else:  # a StepRecord: its child run's id is the caller's to find (agent/run_family, journal/replay)
        raise TypeError(f"a record for step {record.step!r} goes to its child run, not to run {run_id}")


def refused_parts(client: MlflowClient, run_id: str, record: Record, exc: BaseException) -> list[tuple[Record, str]]:
    """After ``record`` was refused as a whole: send its entities one by one, return those refused too.

    One refused entity (say, a param a resumed run already has with another value) must not take
    the rest of its request down with it.
    """
    if not isinstance(record, Batch) or record.size() <= 1:
        return [(record, first_line(exc))]
    refused: list[tuple[Record, str]] = []
    for single in record.singles():
        try:
            log_request(client, run_id, single)
        except Exception as single_exc:
            if not is_permanent(single_exc):
                raise
            refused.append((single, first_line(single_exc)))
    return refused


def log_request(client: MlflowClient, run_id: str, part: Batch) -> None:
    """One ``log_batch`` request; ``part`` must already be within limits (see ``batching.chunk``)."""
    from mlflow.entities import Metric, Param, RunTag

    client.log_batch(
        run_id,
        metrics=[Metric(key, value, timestamp, step) for key, value, timestamp, step in part.metrics],
        params=[Param(key, value) for key, value in part.params],
        tags=[RunTag(key, value) for key, value in part.tags],
        synchronous=True,
    )


def end_run(client: MlflowClient, run_id: str, status: str, end_time_ms: int) -> None:
    """End the run; without MLflow's "View run at" print, which costs one more request."""
    from mlflow.environment_variables import MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT as SUPPRESS

    previous = os.environ.get(SUPPRESS.name)
    os.environ[SUPPRESS.name] = "true"  # the hooks say where the run is themselves
    try:
        client.set_terminated(run_id, status=status, end_time=end_time_ms)
    finally:
        if previous is None:
            os.environ.pop(SUPPRESS.name, None)
        else:
            os.environ[SUPPRESS.name] = previous


def is_permanent(exc: BaseException) -> bool:
    """A refusal (bad value, changed param on a resumed run, unknown URI scheme) rather than a server in trouble."""
    return getattr(exc, "error_code", None) in _PERMANENT_CODES
