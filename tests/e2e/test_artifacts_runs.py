"""Artifacts, figures and models from ``kedro run`` into a real SQLite store (and its registry)."""

from __future__ import annotations

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from tests.artifact_project import EXPECTED_FILES, check_model, use_artifact_pipeline
from tests.kedro_project import KedroProject, clean_env

pytestmark = pytest.mark.slow


def artifact_names(project: KedroProject, run_id: str, uri: str | None = None, path: str | None = None) -> set[str]:
    return {item.path for item in project.client(uri).list_artifacts(run_id, path)}


@pytest.mark.parametrize(
    ("runner", "start_method"),
    [("SequentialRunner", None), ("ParallelRunner", None), ("ParallelRunner", "spawn")],
    ids=["SequentialRunner", "ParallelRunner", "ParallelRunner-spawn"],  # spawn: workers inherit only the hand-off
)
def test_one_run_holds_figures_report_table_and_a_registered_model(
    project: KedroProject, runner: str, start_method: str | None
) -> None:
    use_artifact_pipeline(project)
    project.run("--runner", runner, env={**clean_env(), "KEDRO_MP_CONTEXT": start_method} if start_method else None)

    [run] = project.runs()
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert EXPECTED_FILES | {"model"} <= artifact_names(project, run_id)
    assert {"model/MLmodel", "model/input_example.json"} <= artifact_names(project, run_id, path="model")
    checked = check_model(project.store_uri, run_id, clean_env())
    assert checked["predictions"] == [0, 0, 0]
    assert checked["registered_predictions"] == [0, 0, 0]
    assert checked["version_run_id"] == run_id
    assert checked["signature_inputs"] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    [version] = project.client().search_model_versions("name='iris-clf'")
    assert str(version.version) == "1"


def test_the_same_on_a_real_mlflow_server(project: KedroProject, mlflow_server: MlflowServer) -> None:
    use_artifact_pipeline(project, tracking_extra=f"  tracking_uri: {mlflow_server.url}\n  experiment: on-server\n")
    project.run()

    [run] = project.runs(uri=mlflow_server.url, experiment="on-server")
    assert run.info.status == "FINISHED"
    assert artifact_names(project, run.info.run_id, mlflow_server.url) >= EXPECTED_FILES | {"model"}
    checked = check_model(mlflow_server.url, run.info.run_id, clean_env())
    assert checked["predictions"] == [0, 0, 0] and checked["registered_predictions"] == [0, 0, 0]
    assert checked["version_run_id"] == run.info.run_id
