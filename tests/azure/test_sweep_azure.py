"""``kedro azureml sweep`` on Azure ML, end to end against the double with the real SDK: the starter swept over
``model.C`` as a sweep job whose trials run kedro on the emulated compute. What is checked is read back from
the double (SDK, request log) and from the MLflow store, never from the plugin's own output alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.azure.test_job_states_azure import hold_in_job
from tests.azureml_double import AzureMLDouble
from tests.kedro_project import run_kedro
from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]

OBJECTIVE = "model_metrics.accuracy"
GRID = ("--objective", OBJECTIVE, "--goal", "maximize", "--search", "model.C=choice(0.1, 1.0, 10.0)")
ENDED = ("Completed", "Failed", "Canceled")


def sweep(project: Path, double: AzureMLDouble, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_kedro(["azureml", "sweep", *args], project, extra_env=double.client_env(), check=check, timeout=600)


def sweep_name(output: str) -> str:
    found = re.search(r"Azure ML job (\S+) submitted to 'cpu-cluster' as a sweep", output)
    assert found, output
    return found.group(1)


def trial_runs(double: AzureMLDouble, name: str) -> list[object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(double.mlflow_url)
    experiment = client.get_run(name).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{name}'")


def test_a_grid_sweep_job_completes_with_a_trial_run_per_value_and_the_best_written_back(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    from mlflow.tracking import MlflowClient

    double = azureml_double
    since = double.last_seq()
    result = sweep(
        starter_project, double, *GRID, "--compute", "cpu-cluster", "--max-concurrent", "2",
        "--early-termination", "median", "--wait",
    )  # fmt: skip
    output = result.stdout + result.stderr
    name = sweep_name(output)

    (put,) = double.requests(since, path_contains=f"/jobs/{name}", method="PUT")
    assert put["status"] == 201
    ml = double.ml_client()
    job = ml.jobs.get(name)
    assert (job.type, job.status) == ("sweep", "Completed")
    assert job.sampling_algorithm.type == "grid" and job.search_space["model_C"].values == [0.1, 1.0, 10.0]
    assert (job.limits.max_total_trials, job.limits.max_concurrent_trials) == (3, 2)
    assert job.tags["kedro.sweep.inputs"] == '{"model.C":"model_C"}'
    assert (job.early_termination.type, job.early_termination.evaluation_interval) == ("median_stopping", 1)
    trials = list(ml.jobs.list(parent_job_name=name))
    assert len(trials) == 3 and {trial.status for trial in trials} == {"Completed"}, output

    runs = trial_runs(double, name)
    assert sorted(run.info.run_id for run in runs) == sorted(trial.name for trial in trials)
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert sorted(float(run.data.params["model.C"]) for run in runs) == [0.1, 1.0, 10.0]
    scores = {run.info.run_id: run.data.metrics[OBJECTIVE] for run in runs}
    params = {run.info.run_id: run.data.params["model.C"] for run in runs}

    chosen = job.properties["best_child_run_id"]  # Azure ML's choice: a trial with the highest accuracy
    assert scores[chosen] == max(scores.values())
    parent = MlflowClient(double.mlflow_url).get_run(name)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["kedro.sweep.best_run_id"] == chosen
    assert parent.data.metrics[f"best.{OBJECTIVE}"] == scores[chosen]
    assert parent.data.params["best.model.C"] == params[chosen]
    assert parent.data.params["search.model.C"] == "choice(0.1, 1.0, 10.0)"
    assert parent.data.params["sweep.sampling"] == "grid"
    for run_id, value in params.items():  # a line per trial as it ended, and the best at the end
        assert re.search(rf"trial \d/3 model\.C={value} → {OBJECTIVE} .* FINISHED \(run {run_id},", output), output
    status = run_kedro(["azureml", "status", name], starter_project, extra_env=double.client_env(), check=True)
    assert f"{name}: Completed" in status.stdout
    assert all(re.search(rf"{trial.name}\s*Completed\s*{trial.name}", status.stdout) for trial in trials), status.stdout
    # `logs` of a sweep prints what jobs.download brings of it: the best trial's log.
    logs = run_kedro(["azureml", "logs", name], starter_project, extra_env=double.client_env(), check=True).stdout
    assert "── user_logs/std_log.txt" in logs and "Pipeline execution completed" in logs
    assert [trial.name for trial in trials if trial.name in logs] == [chosen]
    number = int(chosen.rsplit("_", 1)[1]) + 1  # trials are named <sweep>_<n> from 0, numbered from 1
    other = next(trial for trial in trials if trial.name != chosen)  # `logs --trial N`: that trial's log only
    n = str(int(other.name.rsplit("_", 1)[1]) + 1)
    shown = run_kedro(["azureml", "logs", name, "--trial", n], starter_project, extra_env=double.client_env())
    assert [t.name for t in trials if t.name in shown.stdout] == [other.name], shown.stdout + shown.stderr
    missing = run_kedro(["azureml", "logs", name, "--trial", "4"], starter_project, extra_env=double.client_env())
    assert f"Error: job '{name}' has no trial 4; its trials: 1, 2, 3" in missing.stderr
    assert f"Best: trial {number} (model.C={params[chosen]})" in output


def test_cancelling_a_running_sweep_ends_its_trials_runs_killed(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    from mlflow.tracking import MlflowClient

    double = azureml_double
    nodes = next(starter_project.glob("src/*/pipelines/training/nodes.py"))
    fitting = '    classifier = _classifier(C=parameters["C"], max_iter=parameters["max_iter"])\n'
    assert nodes.read_text().count(fitting) == 1
    slow = nodes.read_text().replace(
        fitting, fitting + "    __import__('time').sleep(600)  # a long training: the sweep is cancelled meanwhile\n"
    )
    nodes.write_text(slow)
    result = sweep(starter_project, double, *GRID, "--compute", "cpu-cluster", "--max-concurrent", "2")
    name = sweep_name(result.stdout + result.stderr)
    ml = double.ml_client()

    def training() -> list[str]:
        trials = [trial.name for trial in ml.jobs.list(parent_job_name=name)]
        return [t for t in trials if "Running node: train_model" in double.job_log(t)]

    wait_until(lambda: len(training()) == 2, 400, "two trials to be training")
    cancelled = run_kedro(["azureml", "cancel", name], starter_project, extra_env=double.client_env(), timeout=300)
    assert f"{name}: Canceled" in cancelled.stdout, cancelled.stdout + cancelled.stderr

    trials = list(ml.jobs.list(parent_job_name=name))
    assert len(trials) == 2  # the third never started
    wait_until(lambda: all(ml.jobs.get(t.name).status in ENDED for t in trials), 120, "the trials to end")
    assert {ml.jobs.get(trial.name).status for trial in trials} == {"Canceled"}
    runs = trial_runs(double, name)
    assert sorted(run.info.run_id for run in runs) == sorted(trial.name for trial in trials)
    assert {run.info.status for run in runs} == {"KILLED"}
    assert MlflowClient(double.mlflow_url).get_run(name).info.status == "KILLED"
    assert all(double.job_info(trial.name)["process_alive"] is False for trial in trials)


def test_a_dry_run_prints_the_sweep_job_and_sends_nothing(starter_project: Path, azureml_double: AzureMLDouble) -> None:
    double = azureml_double
    since = double.last_seq()
    result = sweep(
        starter_project, double, *GRID, "--compute", "cpu-cluster", "--early-termination", "bandit", "--dry-run"
    )
    assert double.requests(since) == []
    assert "--params='model.C=${{inputs.model_C}}'" in result.stdout
    assert "search: model.C as input model_C = choice(0.1, 1.0, 10.0)" in result.stdout
    assert "early termination: bandit" in result.stdout
    assert "trials: at most 3, 1 at once" in result.stdout
    assert "Dry run: nothing was uploaded or submitted." in result.stdout


JOB_JOURNAL = "outputs/kedro_azureml_mlflow/journal"


def mlflow_lines(log: str) -> list[str]:
    """What a job said about tracking (for a failure's message)."""
    return [line.strip() for line in log.splitlines() if "MLflow" in line or "Error" in line][-6:]


def test_an_mlflow_outage_in_the_trials_is_replayed_by_sync_job_into_each_trials_run_once(
    starter_project: Path, azureml_double: AzureMLDouble, tmp_path: Path
) -> None:
    import yaml
    from mlflow.tracking import MlflowClient

    double = azureml_double
    settings = starter_project / "conf/base/azureml.yml"
    config = yaml.safe_load(settings.read_text()) if settings.exists() else {}
    config.setdefault("submit", {}).setdefault("environment_variables", {})["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    settings.write_text(yaml.safe_dump(config))
    release = tmp_path / "release"
    hold_in_job(starter_project, release)  # each trial waits, before it logs anything, for the outage
    result = sweep(starter_project, double, *GRID, "--compute", "cpu-cluster", "--max-concurrent", "3")
    name = sweep_name(result.stdout + result.stderr)  # its definition is logged: the trials' values are refused next
    double.inject_http_fault(r"/runs/log-batch$", status=503, count=10_000, retry_after=None)
    release.touch()
    ml = double.ml_client()
    wait_until(lambda: ml.jobs.get(name).status in ENDED, 500, "the sweep to end")
    trials = [trial.name for trial in ml.jobs.list(parent_job_name=name)]
    assert len(trials) == 3
    kept = double.blob_service().get_container_client("azureml")
    journaled = [
        trial
        for trial in trials
        if any(
            blob.name.endswith(".jsonl")
            for blob in kept.list_blobs(name_starts_with=f"ExperimentRun/dcid.{trial}/{JOB_JOURNAL}/")
        )
    ]
    assert sorted(journaled) == sorted(trials), (
        "not every trial journaled; each one's status and MLflow lines:\n"
        + "\n".join(
            f"{trial} {ml.jobs.get(trial).status}: " + " | ".join(mlflow_lines(double.job_log(trial)))
            for trial in trials
        )
    )
    client = MlflowClient(double.mlflow_url)
    assert all(OBJECTIVE not in client.get_run(trial).data.metrics for trial in journaled)

    double.clear_faults()
    synced = run_kedro(["azureml", "sync", "--job", name], starter_project, extra_env=double.client_env())
    assert synced.returncode == 0, synced.stdout + synced.stderr
    for trial in journaled:  # each trial's values into its own run, once
        assert f"to run {trial}" in synced.stdout, (trial, synced.stdout + synced.stderr)
        run = client.get_run(trial)
        assert OBJECTIVE in run.data.metrics and "model.C" in run.data.params
        assert len(client.get_metric_history(trial, OBJECTIVE)) == 1
    assert OBJECTIVE not in client.get_run(name).data.metrics  # not into the sweep's run

    before = double.last_seq()
    again = run_kedro(["azureml", "sync", "--job", name], starter_project, extra_env=double.client_env())
    assert again.returncode == 0 and "not sent again" in again.stdout, again.stdout + again.stderr
    assert double.mlflow_requests(before) == []  # fetched again, sent nothing again
