"""``kedro azureml schedule`` end to end against the local Azure ML double, with the real SDK: a schedule of
the starter project is created, listed, triggered (its job runs kedro on the emulated compute as a one-step
pipeline), disabled, enabled and deleted. What is checked is read back from the double (SDK, request log,
MLflow store), never from the plugin's own output alone."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.azure.test_double_conformance_pipelines import call
from tests.azureml_double import AzureMLDouble
from tests.kedro_project import run_kedro
from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]


def schedule(project: Path, double: AzureMLDouble, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_kedro(["azureml", "schedule", *args], project, extra_env=double.client_env(), check=check, timeout=400)


def test_a_schedule_is_created_listed_triggered_disabled_and_deleted(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    from azure.core.exceptions import ResourceNotFoundError
    from mlflow.tracking import MlflowClient

    project, double = starter_project, azureml_double
    name = f"nightly_{uuid.uuid4().hex[:8]}"
    ml = double.ml_client()
    since = double.last_seq()

    created = schedule(
        project, double, "create", name, "--cron", "0 2 * * *", "--time-zone", "Europe/Berlin",
        "--compute", "cpu-cluster", "--params", "model.C=0.5",
    )  # fmt: skip

    assert f"Schedule '{name}' created (cron '0 2 * * *', time zone W. Europe Standard Time)" in created.stderr
    (put,) = double.requests(since, path_contains=f"/schedules/{name}", method="PUT")
    assert put["status"] == 201
    polls = double.requests(since, path_contains="/mfeOperationsStatus/", method="GET")
    assert len(polls) >= 2  # the command waited for the operation's end
    got = ml.schedules.get(name)
    assert (got.is_enabled, got.provisioning_state) == (True, "Succeeded")
    assert (got.trigger.expression, got.trigger.time_zone) == ("0 2 * * *", "W. Europe Standard Time")
    assert got.create_job.type == "pipeline" and list(got.create_job.jobs) == ["kedro_run"]
    component = call(double, "GET", got.create_job.jobs["kedro_run"].component).json()
    assert component["properties"]["componentSpec"]["is_deterministic"] == "False"  # never reused

    shown = schedule(project, double, "show", name).stdout
    assert "state: enabled (provisioning Succeeded)" in shown
    assert "trigger: cron '0 2 * * *', time zone W. Europe Standard Time" in shown
    listed = schedule(project, double, "list")
    assert f"{name}\tenabled\tcron '0 2 * * *', time zone W. Europe Standard Time" in listed.stdout.splitlines()

    triggered = schedule(project, double, "trigger", name)
    job = triggered.stdout.strip().splitlines()[-1]
    assert job.startswith(f"{name}-") and f"job {job}" in triggered.stderr
    assert job in {j.name for j in ml.jobs.list()}
    pipeline = ml.jobs.get(job)
    assert pipeline.properties["runSource"] == "Schedule"
    assert pipeline.properties["azureml.genericTriggerName"] == name
    wait_until(lambda: ml.jobs.get(job).status in ("Completed", "Failed", "Canceled"), 400, "the scheduled job's end")
    assert ml.jobs.get(job).status == "Completed", double.job_log(job)
    (step,) = ml.jobs.list(parent_job_name=job)
    assert (step.display_name, step.status) == ("kedro_run", "Completed")
    assert "Pipeline execution completed" in double.job_log(step.name)
    run = MlflowClient(double.mlflow_url).get_run(step.name)
    assert run.data.tags["mlflow.parentRunId"] == job
    assert run.data.params["model.C"] == "0.5" and run.data.metrics["model_metrics.accuracy"] > 0.8

    schedule(project, double, "disable", name)
    assert ml.schedules.get(name).is_enabled is False
    assert name not in schedule(project, double, "list", "--view", "enabled").stdout
    schedule(project, double, "enable", name)
    assert ml.schedules.get(name).is_enabled is True

    since = double.last_seq()
    deleted = schedule(project, double, "delete", name)

    assert f"Schedule '{name}' is enabled: disabling it first" in deleted.stdout
    assert f"Schedule '{name}' deleted" in deleted.stdout
    methods = [r["method"] for r in double.requests(since, path_contains=f"/schedules/{name}") if r["method"] != "GET"]
    assert methods == ["PUT", "DELETE"]  # disabled first: Azure refuses to delete an enabled schedule
    with pytest.raises(ResourceNotFoundError):
        ml.schedules.get(name)


def test_a_bad_cron_is_refused_before_anything_is_sent(starter_project: Path, azureml_double: AzureMLDouble) -> None:
    since = azureml_double.last_seq()

    result = schedule(starter_project, azureml_double, "create", "bad", "--cron", "0 25 * * *", check=False)

    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "--cron '0 25 * * *': the hour field '25' is out of range" in line
    assert azureml_double.requests(since) == []
