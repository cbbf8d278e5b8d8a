"""The pipeline job's run, from the submitter: the flattened parameters and Kedro's run tags, as a single
job's run gets them from its Kedro session (each step's run gets its own from its step's session).

Sent once the job is created (its run exists from then on), with MLflow's retries capped: a workspace
in trouble must not hold ``submit`` for minutes. What the workspace's MLflow does not take is journaled
for the pipeline's run in the project (``ends_run`` false: the job ends its run), and
``kedro azureml sync`` sends it there later, once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.core.redaction import Redactor, scrub
from kedro_azureml_mlflow.settings.config import TrackingConfig
from kedro_azureml_mlflow.tracking.plan.params import AZUREML_MAX_PARAMS, prepare_params
from kedro_azureml_mlflow.tracking.plan.run_info import run_tags
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.protocol import now_ms

logger = logging.getLogger(__name__)
# MLflow's defaults wait minutes per request (120 s per attempt, 7 retries with backoff): the submitter
# gives up sooner and journals. A lower value set by the user is kept.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": 20,
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": 2,
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": 1,
}


def parent_batch(
    parameters: Mapping[str, Any], tracking: TrackingConfig, run: RunArguments, project_path: Path
) -> Batch:
    """The params (flattened, secrets redacted, within Azure ML's 200) and the run tags for the pipeline's run."""
    redactor = Redactor(tracking.redact)
    batch = Batch()
    if tracking.params.log:
        prepared = prepare_params(redactor.params(parameters), tracking.params, AZUREML_MAX_PARAMS)
        batch.params, batch.tags = prepared.params, prepared.tags
        if prepared.kept:
            logger.warning(
                "%d parameters are not on the pipeline job's run (too long, or past %d): each step's run keeps "
                "them whole in its kedro/params.json",
                len(prepared.kept),
                AZUREML_MAX_PARAMS,
            )
    run_params = {
        "pipeline_names": [run.pipeline],
        "env": run.env,
        "runner": run.runner,
        "kedro_version": _kedro_version(),
        "tags": [tag for tag in run.tags.split(",") if tag],
    }
    batch.tags += list(run_tags(run_params, project_path, run.env, redactor).items())
    return batch


@dataclass(frozen=True)
class ParentRun:
    """What the submitter logs to the pipeline job's run (:func:`parent_batch`), and where it journals."""

    batch: Batch
    project_path: Path

    def log(self, workspace: AzureWorkspace, job: str, experiment: str) -> None:
        """Send the batch to run ``job`` (the job's name is its run id), or journal it for ``sync`` (a warning)."""
        from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking
        from kedro_azureml_mlflow.tracking.client.client_ops import make_client, send_record

        tracking_uri = workspace.tracking_uri
        try:
            use_credential_for_tracking(tracking_uri, workspace)
            with _capped_http_retries():
                send_record(make_client(tracking_uri), job, self.batch)
        except Exception as exc:  # noqa: BLE001 - any failure to send is journaled; the job runs all the same
            path = _journal(tracking_uri, job, experiment, self.batch, self.project_path)
            logger.warning(
                "MLflow: could not log the parameters and tags to pipeline job %s's run (%s); kept in %s: "
                "send them with `kedro azureml sync`",
                job,
                scrub(first_line(exc)),
                path,
            )
            return
        params, tags = len(self.batch.params), len(self.batch.tags)
        logger.info("Logged %d parameters and %d tags to pipeline job %s's run", params, tags, job)


def _journal(tracking_uri: str, job: str, experiment: str, batch: Batch, project_path: Path) -> Path:
    from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME, Journal
    from kedro_azureml_mlflow.tracking.wire.records import RunHeader

    header = RunHeader(tracking_uri, experiment, job, None, {}, now_ms(), ends_run=False)
    journal = Journal(project_path / JOURNAL_DIRNAME, header)
    journal.write(batch)
    journal.close()
    return journal.path


@contextlib.contextmanager
def _capped_http_retries() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in HTTP_LIMITS}
    for name, cap in HTTP_LIMITS.items():
        os.environ[name] = str(min(_number(saved[name], cap), cap))
    try:
        yield
    finally:
        for name, before in saved.items():
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before


def _number(text: str | None, default: int) -> int:
    try:
        return int(float(text)) if text is not None else default
    except ValueError:
        return default


def _kedro_version() -> str:
    from kedro import __version__

    return str(__version__)
