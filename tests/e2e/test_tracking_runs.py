"""``kedro run`` on real projects, asserting what landed in a real MLflow SQLite store."""

from __future__ import annotations

import pytest

from tests.kedro_project import KedroProject, clean_env

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _seeded_store(project: KedroProject) -> None:
    """Every run here tracks into the project's own store: it starts migrated (no test here is about making it)."""
    project.seed_store()


def only_run(project: KedroProject):
    runs = project.runs()
    assert len(runs) == 1, f"expected exactly one run, got {len(runs)}"
    return runs[0]


def test_params_are_flattened_and_node_metrics_logged(project: KedroProject) -> None:
    result = project.run("--pipeline", "training")
    run = only_run(project)

    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["model.alpha"] == "0.25"
    assert params["model.layers"] == "[8, 4]"
    assert params["model.optimizer.name"] == "adam"
    assert params["model.optimizer.lr"] == "0.01"
    assert params["seed"] == "42"
    # model_metrics is not declared in the catalog: a plain in-memory output, logged by name.
    metrics = run.data.metrics
    assert metrics["model_metrics.accuracy"] == pytest.approx(0.75)
    assert metrics["model_metrics.loss.train"] == pytest.approx(0.2)
    assert metrics["score_metrics"] == pytest.approx(0.42)
    assert run.data.tags["kedro.pipeline"] == "training"
    assert run.data.tags["kedro.runner"] == "SequentialRunner"
    assert run.data.tags["kedro.command"] == "kedro run --pipeline training"
    assert run.info.run_name == "training"
    assert f"run {run.info.run_id}" in result.stdout + result.stderr


def test_list_values_are_logged_as_steps(project: KedroProject) -> None:
    project.run()
    run = only_run(project)
    history = project.client().get_metric_history(run.info.run_id, "curve_metrics")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (0, 0.1),
        (1, 0.2),
        (2, 0.3),
        (3, pytest.approx(0.75)),
    ]


def test_failing_node_leaves_run_failed_with_error_tag(project: KedroProject) -> None:
    result = project.kedro("run", "--pipeline", "failing")
    assert result.returncode != 0
    assert "boom: the model diverged" in result.stdout + result.stderr  # the user's own error, unchanged
    run = only_run(project)
    assert run.info.status == "FAILED"
    assert run.data.tags["kedro.error_type"] == "ValueError"
    assert "boom: the model diverged" in run.data.tags["kedro.error"]
    assert run.data.metrics["score_metrics"] == pytest.approx(0.42)  # what ran before the failure is kept


@pytest.mark.parametrize("runner", ["ThreadRunner", "ParallelRunner"])
def test_each_runner_produces_one_run_with_every_metric(project: KedroProject, runner: str) -> None:
    project.run("--pipeline", "many", "--runner", runner)
    run = only_run(project)
    assert run.info.status == "FINISHED"
    assert run.data.tags["kedro.runner"] == runner
    expected = {f"node_{i}_metrics.m{k}": i * 10 + k for i in range(100) for k in range(5)}
    assert run.data.metrics == pytest.approx(expected)


def test_mlflow_run_id_resumes_that_run(project: KedroProject) -> None:
    client = project.client()
    experiment_id = client.create_experiment("created-by-the-job")
    outer = client.create_run(experiment_id, run_name="outer")
    env = clean_env(MLFLOW_RUN_ID=outer.info.run_id, MLFLOW_TRACKING_URI=project.store_uri)

    project.run(env=env)

    assert project.runs() == []  # no run in the project's own experiment
    runs = project.runs(experiment="created-by-the-job")
    assert [r.info.run_id for r in runs] == [outer.info.run_id]
    resumed = runs[0]
    assert resumed.data.metrics["model_metrics.accuracy"] == pytest.approx(0.75)
    assert resumed.data.params["model.alpha"] == "0.25"
    assert resumed.info.status == "RUNNING"  # its owner (the job / `mlflow run`) ends it, not us


def test_declared_metrics_dataset_is_logged_under_its_prefix(project: KedroProject) -> None:
    project.write(
        "conf/base/catalog.yml",
        """\
        curve_metrics:
          type: kedro_azureml_mlflow.datasets.MlflowMetricsDataset
        score_metrics:
          type: kedro_azureml_mlflow.datasets.MlflowMetricsDataset
          prefix: holdout
          filepath: data/08_reporting/score.json
    """,
    )
    project.write(
        "conf/base/azureml.yml",
        """\
        tracking:
          metrics:
            datasets: ["model_*"]
    """,
    )
    project.run()
    metrics = only_run(project).data.metrics
    assert metrics["holdout"] == pytest.approx(0.42)
    assert "curve_metrics" in metrics and "model_metrics.accuracy" in metrics
    assert (project.path / "data/08_reporting/score.json").read_text().strip() == "0.42"


def test_disabled_pipeline_and_experiment_name_from_config(project: KedroProject) -> None:
    project.write(
        "conf/base/azureml.yml",
        """\
        tracking:
          experiment: churn
          run_name: nightly
          disable_for_pipelines: [failing]
    """,
    )
    project.run()
    project.kedro("run", "--pipeline", "failing")
    runs = project.runs(experiment="churn")
    assert [r.info.run_name for r in runs] == ["nightly"]
