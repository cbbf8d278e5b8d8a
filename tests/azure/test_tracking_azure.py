"""The workspace path of the tracking hooks, end to end through the local Azure ML double.

``kedro run`` (a subprocess, real ``azure-ai-ml`` / ``azure-identity`` / ``azureml-mlflow``) asks the
workspace for its tracking URI, logs through the ``azureml://`` store, and the tests read what landed
from the real MLflow server behind the double.
"""

from __future__ import annotations

import json

import pytest

from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KedroProject

pytestmark = [pytest.mark.azure, pytest.mark.slow]

WORKSPACE_ENV = ("AZUREML_SUBSCRIPTION_ID", "AZUREML_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME")


def azure_env(double: AzureMLDouble, workspace_from_env: bool = False, **extra: str) -> dict[str, str]:
    env = double.env()
    if not workspace_from_env:
        for key in WORKSPACE_ENV:
            env.pop(key)
    env.update(COLUMNS="400", **extra)
    return env


def workspace_yaml(double: AzureMLDouble, name: str | None = None) -> str:
    return (
        "workspace:\n"
        f"  subscription_id: {double.subscription_id}\n"
        f"  resource_group: {double.resource_group}\n"
        f"  name: {name or double.workspace_name}\n"
    )


def runs_in_double(project: KedroProject, double: AzureMLDouble) -> list:
    return project.runs(uri=double.mlflow_url)


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """Each test tracks into its own experiment in the shared MLflow server."""
    return "exp-" + request.node.name.replace("[", "-").replace("]", "")


def test_kedro_run_tracks_into_the_workspace(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + f"tracking:\n  experiment: {experiment_name}\n"
    )
    project.run(env=azure_env(azureml_double))

    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    assert run.info.status == "FINISHED"
    assert run.data.params["model.optimizer.name"] == "adam"
    assert run.data.metrics["model_metrics.accuracy"] == pytest.approx(0.75)
    assert not (project.path / "mlflow.db").exists()

    calls = azureml_double.requests()
    workspace_gets = [r for r in calls if r["method"] == "GET" and r["path"] == azureml_double.workspace_scope]
    assert len(workspace_gets) == 1  # asked once per session
    mlflow_calls = azureml_double.mlflow_requests()
    assert mlflow_calls and all(
        r["path"].startswith(azureml_double.mlflow_prefix + "/api/2.0/mlflow/") for r in mlflow_calls
    )
    assert any(r["path"].endswith("/runs/log-batch") for r in mlflow_calls)
    assert len(mlflow_calls) <= 10, [r["path"] for r in mlflow_calls]


def test_config_json_is_found_when_azureml_yml_names_no_workspace(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    (project.path / ".azureml").mkdir()
    (project.path / ".azureml" / "config.json").write_text(
        json.dumps(
            {
                "subscription_id": azureml_double.subscription_id,
                "resource_group": azureml_double.resource_group,
                "workspace_name": azureml_double.workspace_name,
            }
        )
    )
    project.write("conf/base/azureml.yml", f"tracking:\n  experiment: {experiment_name}\n")
    project.run(env=azure_env(azureml_double))
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    assert run.data.metrics["score_metrics"] == pytest.approx(0.42)


def test_workspace_from_environment_variables(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write("conf/base/azureml.yml", f"tracking:\n  experiment: {experiment_name}\n")
    project.run(env=azure_env(azureml_double, workspace_from_env=True))
    assert len(project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)) == 1


def test_unknown_workspace_is_one_clear_error_and_nothing_half_done(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    project.write("conf/base/azureml.yml", workspace_yaml(azureml_double, name="no-such-ws"))
    result = project.kedro("run", env=azure_env(azureml_double))
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert "workspace 'no-such-ws'" in errors[0] and "Not found" in errors[0]
    assert azureml_double.mlflow_requests() == []  # no run was opened anywhere
    assert "Running node" not in result.stdout + result.stderr  # the pipeline did not start


def test_failing_credential_says_how_to_sign_in(project: KedroProject, azureml_double: AzureMLDouble) -> None:
    project.write("conf/base/azureml.yml", workspace_yaml(azureml_double) + "credentials:\n  type: environment\n")
    env = azure_env(azureml_double)
    for key in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME"):
        env.pop(key, None)
    result = project.kedro("run", env=env)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert "Could not sign in to Azure (environment credential)" in errors[0]
    assert "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET" in errors[0]


def test_client_secret_credential_from_environment(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write(
        "conf/base/azureml.yml",
        workspace_yaml(azureml_double)
        + f"credentials:\n  type: environment\ntracking:\n  experiment: {experiment_name}\n",
    )
    env = azure_env(azureml_double)
    env.update({k: v for k, v in azureml_double.client_env(auth="client_secret").items() if k not in WORKSPACE_ENV})
    env.pop("MSI_ENDPOINT", None)
    project.run(env=env)
    assert len(project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)) == 1


def test_throttling_is_retried_and_nothing_is_lost(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + f"tracking:\n  experiment: {experiment_name}\n"
    )
    azureml_double.inject_http_fault(r"/runs/log-batch$", status=429, count=2, retry_after=0)
    project.run("--pipeline", "many", env=azure_env(azureml_double))
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    assert len(run.data.metrics) == 500
    assert sum(1 for r in azureml_double.mlflow_requests() if r.get("fault")) == 2


@pytest.mark.parametrize("runner", ["SequentialRunner", "ParallelRunner"])
def test_tracking_server_down_journals_then_sync_sends_exactly_once(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str, runner: str
) -> None:
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + f"tracking:\n  experiment: {experiment_name}\n"
    )
    env = azure_env(azureml_double, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    azureml_double.mlflow_down(mode="reset")
    result = project.run("--pipeline", "many", "--runner", runner, env=env)  # the pipeline itself succeeds
    assert "kedro azureml sync" in result.stdout + result.stderr
    assert project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name) == []

    azureml_double.clear_faults()
    synced = project.kedro("azureml", "sync", env=env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    assert run.info.status == "FINISHED"
    assert run.data.params["seed"] == "42"
    assert run.data.tags["kedro.runner"] == runner
    assert run.data.metrics == pytest.approx(
        {f"node_{i}_metrics.m{k}": i * 10 + k for i in range(100) for k in range(5)}
    )

    again = project.kedro("azureml", "sync", env=env)
    assert "Nothing to send" in again.stdout
    history = project.client(azureml_double.mlflow_url).get_metric_history(run.info.run_id, "node_7_metrics.m3")
    assert len(history) == 1  # sent exactly once


def test_node_code_logs_into_the_plugins_run_signed_in_with_the_plugins_credential(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + f"tracking:\n  experiment: {experiment_name}\n"
    )
    project.run("--pipeline", "node_log_metric", env=azure_env(azureml_double))
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    assert run.data.metrics["node_own"] == 7.0  # logged by the node's own mlflow.log_metric
    assert run.data.metrics["own_metrics"] == 1.0  # logged by the plugin
    assert run.info.status == "FINISHED"
    # "Default" is shared with every job the double ran without an experiment (pipeline steps, schedules):
    # what must not be there is a run of the node's own holding its metric.
    default_runs = project.runs(uri=azureml_double.mlflow_url, experiment="Default")
    assert not [r for r in default_runs if "node_own" in r.data.metrics]


def test_ui_prints_the_experiments_studio_url(
    project: KedroProject, azureml_double: AzureMLDouble, experiment_name: str
) -> None:
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + f"tracking:\n  experiment: {experiment_name}\n"
    )
    project.run(env=azure_env(azureml_double))
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment=experiment_name)
    shown = project.kedro("azureml", "ui", env=azure_env(azureml_double))
    assert shown.returncode == 0, shown.stderr
    assert (
        f"https://ml.azure.com/experiments/id/{run.info.experiment_id}?wsid=/subscriptions/"
        f"{azureml_double.subscription_id}/resourcegroups/{azureml_double.resource_group}"
        f"/workspaces/{azureml_double.workspace_name}"
    ) in shown.stdout
