"""The one place the plugin uses private (underscore) APIs of azure-ai-ml, azureml-mlflow, MLflow and Kedro.

Each function says why there is no public way. ``tests/test_compat.py`` checks every one against the
installed versions; ``pyproject.toml`` bounds azure-ai-ml and azureml-mlflow to the versions checked, so
moving a bound means running that test against the new version first.
"""

from __future__ import annotations

from typing import Any

import click


def register_tracking_credential(
    tracking_uri: str, host_url: str, subscription_id: str, resource_group: str, workspace_name: str, auth: Any
) -> None:
    """Make azureml-mlflow's ``azureml://`` store for ``tracking_uri`` sign in with ``auth``.

    azureml-mlflow has no public hook for a credential; left alone it builds its own chain ending in
    interactive sign-in. Its service-context cache is the one place to hand it ours.
    """
    from azureml.mlflow._internal.service_context_loader import (
        _AzureMLServiceContextLoader,
    )
    from azureml.mlflow._internal.utils import ServiceContext

    context = ServiceContext(
        host_url=host_url,
        subscription_id=subscription_id,
        workspace_name=workspace_name,
        resource_group_name=resource_group,
        auth=auth,
    )
    _AzureMLServiceContextLoader.add_service_context(tracking_uri, context)


def run_history_details(ml_client: Any, job_name: str) -> Any:
    """Run history's view of a job: ``status``, ``error``, ``log_files`` (name -> service-signed URL).

    The only way to read a *running* job's log: ``jobs.download`` refuses jobs that have not ended, and
    ``jobs.stream`` reads the ``default`` output's datastore, signing each log blob with the datastore's
    SAS token as if it were an account key (azure-ai-ml 1.35), which storage refuses.
    """
    return ml_client.jobs._runs_operations.get_run_details(job_name)


def sdk_terminal_statuses() -> frozenset[str]:
    """The statuses after which azure-ai-ml stops following a job (``jobs.stream``, ``jobs.download``)."""
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

    return frozenset(str(status) for status in RunHistoryConstants.TERMINAL_STATUSES)


def sdk_job_statuses() -> frozenset[str]:
    """Every status the service's job API defines (the REST enum; the SDK exports no public one)."""
    from azure.ai.ml._restclient.arm_ml_service.models import JobStatus

    return frozenset(status.value for status in JobStatus)


def load_mlflow_project(directory: str) -> Any:
    """MLflow's own reading of an ``MLproject`` (entry points, environment spec), as ``mlflow run`` does.

    ``mlflow.projects`` exposes running projects, not reading them.
    """
    from mlflow.projects import _project_spec

    load: Any = _project_spec.load_project  # untyped in MLflow
    return load(directory)


def parse_kedro_params(ctx: click.Context, param: click.Parameter, value: str) -> dict[str, Any]:
    """``--params`` parsed exactly as ``kedro run`` does (raises ``click.UsageError`` when malformed).

    Kedro keeps its parser private; a copy would drift from the ``kedro run`` that reads the value in the job.
    """
    from kedro.framework.cli.utils import _split_params

    parsed: dict[str, Any] = _split_params(ctx, param, value)
    return parsed
