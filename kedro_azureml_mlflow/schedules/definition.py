"""The ``JobSchedule`` of a submit: the command job ``submit`` builds, wrapped as a one-step pipeline.

Azure ML schedules pipeline jobs (a command job needs private-preview features), and a pipeline step
whose code, environment and inputs are unchanged is reused, not run: a nightly run of unchanged code
would copy last night's. So the step is never reused (``is_deterministic=False``). On Azure ML such a
run is a pipeline run with one child run, the step, which runs ``kedro run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.backend.job import JobRequest, command_job
from kedro_azureml_mlflow.schedules.cron import Every

STEP_NAME = "kedro_run"


@dataclass(frozen=True)
class When:
    """A cron expression or a recurrence, in an Azure ML time zone."""

    time_zone: str
    cron: str | None = None
    every: Every | None = None

    def trigger(self) -> Any:
        from azure.ai.ml.entities import CronTrigger, RecurrenceTrigger

        if self.cron is not None:
            return CronTrigger(expression=self.cron, time_zone=self.time_zone)
        assert self.every is not None  # the command requires one of the two
        return RecurrenceTrigger(frequency=self.every.frequency, interval=self.every.interval, time_zone=self.time_zone)

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron '{self.cron}', time zone {self.time_zone}"
        assert self.every is not None
        return f"every {self.every.interval} {self.every.frequency}(s), time zone {self.time_zone}"


def scheduled_pipeline(request: JobRequest, description: str | None = None) -> Any:
    """The one-step pipeline job a schedule creates on each firing."""
    from azure.ai.ml.entities import PipelineJob, PipelineJobSettings

    options = request.options
    return PipelineJob(
        jobs={STEP_NAME: command_job(request, is_deterministic=False)},
        settings=PipelineJobSettings(default_compute=options.compute, continue_on_step_failure=False),
        experiment_name=request.experiment_name,
        display_name=options.display_name,
        description=description,
        tags=dict(options.tags),
    )


def job_schedule(name: str, when: When, request: JobRequest, description: str | None = None) -> Any:
    from azure.ai.ml.entities import JobSchedule

    return JobSchedule(
        name=name,
        trigger=when.trigger(),
        create_job=scheduled_pipeline(request, description),
        description=description,
        display_name=name,
    )
