"""A sweep job on Azure ML, seen from here: its definition logged to the sweep's run when it is submitted,
its trials followed as they end (``--wait``), and the best trial written back to the sweep's run.

Azure ML creates the sweep's MLflow run (its id is the job's name) and one child run per trial
(``mlflow.parentRunId``); the plugin's hooks inside a trial log its params and the objective there.
The best trial is the one Azure ML names in the sweep job's ``best_child_run_id`` property; when that is
missing (no trial has scored yet), the best is computed from the trials' runs the same way locally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.backend.job_states import WaitLimits, mlflow_status, normalise, terminal_statuses
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.sweeps.local_runner import (
    BEST_RUN_TAG,
    FINISHED,
    SweepOutcome,
    TrialResult,
    best_trial,
)
from kedro_azureml_mlflow.sweeps.settings import SweepSettings
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.wire.batching import Batch, chunk

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job
    from mlflow.tracking import MlflowClient

BEST_CHILD_PROPERTY = "best_child_run_id"  # azure-ai-ml: SWEEP_JOB_BEST_CHILD_RUN_ID_PROPERTY_NAME
_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class SweepJobRef:
    """A submitted sweep job and what is needed to read its runs."""

    workspace: AzureWorkspace
    name: str
    settings: SweepSettings

    def tracking(self) -> Any:
        """An MLflow client of the workspace's tracking service, signed in with the workspace's credential."""
        from mlflow.tracking import MlflowClient

        from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking

        use_credential_for_tracking(self.workspace.tracking_uri, self.workspace)
        return MlflowClient(self.workspace.tracking_uri)


def log_definition(ref: SweepJobRef, fixed: dict[str, str]) -> None:
    """The sweep's settings and search space as the sweep run's params, as a local sweep logs them."""
    from kedro_azureml_mlflow.backend.submission import wait_for_mlflow_run

    client = ref.tracking()
    wait_for_mlflow_run(ref.workspace.tracking_uri, ref.name)
    params = {**ref.settings.as_params(), **{f"sweep.params.{k}": v for k, v in fixed.items()}}
    for part in chunk(Batch(params=sorted(params.items()))):
        client_ops.log_request(client, ref.name, part)


def follow(ref: SweepJobRef, limits: WaitLimits, on_result: Callable[[TrialResult], None]) -> SweepOutcome:
    """Poll the sweep until it ends (or ``limits`` pass), reporting each trial once it has ended."""
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun

    client = ref.tracking()
    sweep = AzureMLSubmittedRun(ref.workspace, ref.name, stream=False, limits=limits)
    reported: dict[str, TrialResult] = {}
    started = time.monotonic()
    while True:
        status = normalise(sweep.job_status())
        with ref.workspace.errors(f"listing the trials of sweep job '{ref.name}'"):
            trials = list(ref.workspace.ml_client.jobs.list(parent_job_name=ref.name))
        for trial in trials:
            if trial.name not in reported and normalise(_status_name(trial.status)) in terminal_statuses():
                reported[trial.name] = trial_result(client, ref, trial)
                on_result(reported[trial.name])
        if status in terminal_statuses() or time.monotonic() - started >= limits.timeout_seconds:
            results = sorted(reported.values(), key=lambda result: result.number)
            return SweepOutcome(ref.name, status, results, None)
        time.sleep(_POLL_SECONDS)


def _status_name(status: Any) -> str:
    """The SDK's status enum, or a plain string (a child job read from run history)."""
    return str(getattr(status, "value", status))


def trial_result(client: MlflowClient, ref: SweepJobRef, trial: Job) -> TrialResult:
    """An ended trial as its MLflow run holds it: the searched params, its status and the objective (a trial
    that ended before Azure ML made its run: the job's status, nothing else)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(str(trial.name))
    except MlflowException:
        status = mlflow_status(_status_name(trial.status))
        return TrialResult(
            trial_number(str(trial.name)), {}, status, None, None, 0.0, f"kedro azureml logs {trial.name}"
        )
    info, data = run.info, run.data
    seconds = ((info.end_time or info.start_time or 0) - (info.start_time or 0)) / 1000
    return TrialResult(
        number=trial_number(str(trial.name)),
        values={dim.name: _param(data.params.get(dim.name)) for dim in ref.settings.space},
        status=str(info.status),
        run_id=str(info.run_id),
        objective=data.metrics.get(ref.settings.objective),
        seconds=seconds,
        log_path=f"kedro azureml logs {trial.name}",
    )


def _param(text: str | None) -> Any:
    """A logged param's text as the value it was (``0.1`` a number, as the trial's ``kedro run`` read it)."""
    import yaml

    return None if text is None else yaml.safe_load(text)


def trial_number(name: str) -> int:
    """Azure ML names a sweep's trials ``<sweep>_<n>`` from 0; trials are numbered from 1, as locally."""
    suffix = name.rpartition("_")[2]
    return int(suffix) + 1 if suffix.isdigit() else 0


def trial_job(workspace: AzureWorkspace, sweep: str, number: int) -> str:
    """The job of a sweep's trial ``number`` (as the trial lines and the table number it)."""
    with workspace.errors(f"listing the trials of sweep job '{sweep}'"):
        trials = [str(trial.name) for trial in workspace.ml_client.jobs.list(parent_job_name=sweep)]
    for name in trials:
        if trial_number(name) == number:
            return name
    known = ", ".join(str(n) for n in sorted(trial_number(name) for name in trials)) or "none started"
    raise PluginError(f"job '{sweep}' has no trial {number}; its trials: {known}")


def write_best(ref: SweepJobRef, outcome: SweepOutcome) -> SweepOutcome:
    """Name the best trial (Azure ML's choice, else the same rule as locally) and write it to the sweep's run:
    the tags ``kedro.sweep.best_run_id`` and ``kedro.sweep.best_trial``, the metric ``best.<objective>`` and one
    ``best.<param>`` param per searched parameter."""
    with ref.workspace.errors(f"getting sweep job '{ref.name}'"):
        chosen = (ref.workspace.ml_client.jobs.get(ref.name).properties or {}).get(BEST_CHILD_PROPERTY)
    by_run = {result.run_id: result for result in outcome.results}
    best = by_run.get(chosen) if chosen else best_trial(outcome.results, ref.settings.goal)
    if best is None or best.objective is None or best.status != FINISHED:
        return outcome
    now = int(time.time() * 1000)
    batch = Batch(
        metrics=[(f"best.{ref.settings.objective}", best.objective, now, 0)],
        params=[(f"best.{name}", str(value)) for name, value in best.values.items()],
        tags=[(BEST_RUN_TAG, str(best.run_id)), ("kedro.sweep.best_trial", str(best.number))],
    )
    client = ref.tracking()
    for part in chunk(batch):
        client_ops.log_request(client, ref.name, part)
    return SweepOutcome(outcome.parent_run_id, outcome.status, outcome.results, best)
