"""Artifacts and models through an Azure ML workspace (the local double): blobs in Azurite, the
model version in the workspace's registry, and nothing sent to the logged-models API."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.artifact_project import EXPECTED_FILES, check_model, use_artifact_pipeline
from tests.azure.test_tracking_azure import azure_env, workspace_yaml
from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KedroProject

pytestmark = [pytest.mark.azure, pytest.mark.slow]


def refused(calls: list[dict]) -> list[tuple[str, str, int]]:
    """Requests the double refused, but for looking up an experiment before creating it (a 404 by design)."""
    return [
        (c["method"], c["path"], c["status"])
        for c in calls
        if c["status"] >= 400 and not c["path"].endswith("/experiments/get-by-name")
    ]


def blobs_of(double: AzureMLDouble, run_id: str) -> set[str]:
    prefix = f"ExperimentRun/dcid.{run_id}/"
    container = double.blob_service().get_container_client("azureml")
    if not container.exists():  # made by the first upload of the session
        return set()
    return {blob.name[len(prefix) :] for blob in container.list_blobs(name_starts_with=prefix)}


def test_one_run_holds_figures_report_table_and_a_registered_model(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    use_artifact_pipeline(project, workspace_yaml(azureml_double), "  experiment: artifacts-e2e\n")
    project.run(env=azure_env(azureml_double))
    during_run = azureml_double.requests()

    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="artifacts-e2e")
    run_id = run.info.run_id
    blobs = blobs_of(azureml_double, run_id)
    assert blobs >= EXPECTED_FILES
    assert {"model/MLmodel", "model/input_example.json"} <= blobs
    checked = check_model(azureml_double.tracking_uri, run_id, azure_env(azureml_double))
    assert checked["predictions"] == [0, 0, 0] and checked["registered_predictions"] == [0, 0, 0]
    assert checked["version_run_id"] == run_id
    [version] = project.client(azureml_double.mlflow_url).search_model_versions("name='iris-clf'")
    assert str(version.version) == "1"
    assert not [c for c in during_run if "logged-models" in c["path"]]
    assert refused(during_run) == []


def test_mlflow_3_log_model_meets_azure_mls_404_on_logged_models(azureml_double: AzureMLDouble) -> None:
    """What the plugin avoids: MLflow 3's log_model against a workspace fails as azure-sdk-for-python#44896 shows."""
    script = textwrap.dedent("""
        import sys
        import mlflow
        from sklearn.linear_model import LogisticRegression

        mlflow.set_tracking_uri(sys.argv[1])
        mlflow.set_experiment("logged-models-404")
        with mlflow.start_run():
            mlflow.sklearn.log_model(LogisticRegression().fit([[0], [1]], [0, 1]), name="model")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script, azureml_double.tracking_uri],
        env=azureml_double.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "/api/2.0/mlflow/logged-models failed with error code 404 != 200. Response body: ''" in result.stderr


def test_params_past_azure_mls_200_go_whole_into_one_artifact_and_nothing_is_refused(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    long_value = "v" * 9000  # over a tag's 8000 characters: it used to be cut there
    extra = "".join(f"extra_{i:03d}: {i}\n" for i in range(195)) + f"long_text: {long_value}\n"
    project.write("conf/base/parameters_extra.yml", extra)  # 105 params already + 196 = 301
    project.write(
        "conf/base/azureml.yml", workspace_yaml(azureml_double) + "tracking:\n  experiment: params-overflow\n"
    )
    result = project.run("--pipeline", "training", env=azure_env(azureml_double))

    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="params-overflow")
    assert len(run.data.params) == 200
    [blob] = [b for b in blobs_of(azureml_double, run.info.run_id) if b.startswith("kedro/")]
    assert blob == "kedro/params.json"
    container = azureml_double.blob_service().get_container_client("azureml")
    kept = json.loads(container.download_blob(f"ExperimentRun/dcid.{run.info.run_id}/{blob}").readall())
    assert len(kept) == 101 and kept["long_text"] == long_value
    assert set(kept).isdisjoint(run.data.params) and "long_text" not in run.data.tags
    every_param = {**run.data.params, **kept}
    assert every_param["extra_194"] == "194" and every_param["model.optimizer.name"] == "adam"
    assert len(every_param) == 301
    assert refused(azureml_double.requests()) == []
    output = result.stdout + result.stderr
    assert output.count("kept whole in the run's artifact kedro/params.json") == 1
    assert "100 past Azure ML's 200 params per run and 1 longer than a tag's 8000 characters" in output


SPARSE_DATASET = '''
from pathlib import Path, PurePosixPath

from kedro.io import AbstractDataset


class SparseFileDataset(AbstractDataset):
    """Saves a file of ``size`` zero bytes without ever holding them: a sparse file."""

    def __init__(self, filepath):
        self._filepath = PurePosixPath(filepath)

    def _save(self, size):
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.truncate(size)

    def _load(self):
        return Path(self._filepath).stat().st_size

    def _describe(self):
        return {"filepath": str(self._filepath)}
'''

GIB = 1 << 30


def test_a_one_gib_artifact_reaches_azurite_and_a_failed_part_is_retried_alone(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    project.write("src/probe/sparse.py", SPARSE_DATASET)
    project.write(
        "src/probe/pipeline_registry.py",
        f"""
        from kedro.pipeline import Pipeline, node


        def register_pipelines():
            return {{"__default__": Pipeline([node(lambda: {GIB}, None, "big_file", name="big")])}}
        """,
    )
    project.write(
        "conf/base/catalog.yml",
        """
        big_file:
          type: kedro_azureml_mlflow.datasets.MlflowArtifactDataset
          dataset:
            type: probe.sparse.SparseFileDataset
            filepath: data/08_reporting/big.bin
          artifact_path: large
        """,
    )
    # A gigabyte takes longer than the default 30 s that tracking may add after the pipeline.
    tracking = "tracking:\n  experiment: one-gib\n  max_wait_seconds: 900\n"
    project.write("conf/base/azureml.yml", workspace_yaml(azureml_double) + tracking)
    # One part of the upload fails once: the storage client sends that part again, not the file.
    azureml_double.inject_http_fault(r"comp=block&", status=503, count=1, method="PUT")
    project.run(env=azure_env(azureml_double))

    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="one-gib")
    blob = f"ExperimentRun/dcid.{run.info.run_id}/large/big.bin"
    container = azureml_double.blob_service().get_container_client("azureml")
    assert container.get_blob_client(blob).get_blob_properties().size == GIB
    parts = [c for c in azureml_double.requests(path_contains="large/big.bin") if c["query"].get("comp") == "block"]
    answers: dict[str, list[int]] = {}
    for part in parts:
        answers.setdefault(part["query"]["blockid"], []).append(part["status"])
    assert sorted(answers.values()).count([503, 201]) == 1  # the failed part, sent again
    assert all(statuses == [201] for statuses in answers.values() if statuses != [503, 201])
    assert len(answers) > 1  # sent in parts at all


def test_uploads_that_fail_are_journaled_with_their_files_and_sync_sends_them(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    use_artifact_pipeline(project, workspace_yaml(azureml_double), "  experiment: artifacts-synced\n", "iris-synced")
    # Run history refuses to create artifacts: every upload fails (after azureml-mlflow's own retries).
    azureml_double.inject_http_fault(r"/artifacts/batch/metadata$", status=500, count=1000, method="POST")
    result = project.run(env=azure_env(azureml_double))
    assert "kedro azureml sync" in result.stdout + result.stderr

    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="artifacts-synced")
    assert blobs_of(azureml_double, run.info.run_id) == set()
    # One journal, or two on a slow machine: past the run's one wait budget the pipeline journals what
    # the agent had not settled, beside the agent's own journal of its failed uploads. Either way the
    # files are kept once and sync sends them.
    journals = sorted((project.path / ".kedro_azureml_mlflow" / "journal").glob("*.jsonl"))
    assert journals
    kept_files = [p.name for journal in journals for p in journal.with_suffix(".files").rglob("*") if p.is_file()]
    assert set(kept_files) >= EXPECTED_FILES | {"MLmodel"}

    azureml_double.clear_faults()
    synced = project.kedro("azureml", "sync", env=azure_env(azureml_double))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    blobs = blobs_of(azureml_double, run.info.run_id)
    assert blobs >= EXPECTED_FILES | {"model/MLmodel"}
    assert not any(journal.exists() or journal.with_suffix(".files").exists() for journal in journals)
    [version] = project.client(azureml_double.mlflow_url).search_model_versions("name='iris-synced'")
    assert version.run_id == run.info.run_id
    assert project.runs(uri=azureml_double.mlflow_url, experiment="artifacts-synced")[0].info.status == "FINISHED"
