"""The starter's ``azureml`` conf env against the local Azure ML double: a submitted job reads its input from
the workspace's datastore, and a ``kedro run`` reads a data asset signed in as ``azureml.yml`` says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.azureml_double import AzureMLDouble
from tests.kedro_project import run_kedro

pytestmark = [pytest.mark.azure, pytest.mark.slow]

STARTER_BLOB = "demo/iris.csv"  # conf/azureml/catalog.yml of a starter project named demo


def upload_iris(project: Path, double: AzureMLDouble, blob: str) -> None:
    store = double.ml_client().datastores.get("workspaceblobstore")
    container = double.blob_service().get_container_client(store.container_name)
    container.upload_blob(blob, (project / "data/01_raw/iris.csv").read_bytes(), overwrite=True)


@pytest.mark.parametrize("form", ["short, as the starter ships it", "long"])
def test_a_submitted_starter_job_reads_its_input_from_the_datastore(
    starter_project: Path, azureml_double: AzureMLDouble, form: str
) -> None:
    from mlflow.tracking import MlflowClient

    upload_iris(starter_project, azureml_double, STARTER_BLOB)
    if form == "long":
        catalog = starter_project / "conf/azureml/catalog.yml"
        workspace = (
            f"azureml://subscriptions/{azureml_double.subscription_id}/resourcegroups/"
            f"{azureml_double.resource_group}/workspaces/{azureml_double.workspace_name}/"
        )
        catalog.write_text(catalog.read_text().replace("azureml://datastores/", f"{workspace}datastores/"))
    since = azureml_double.last_seq()
    result = run_kedro(
        [
            "azureml",
            "submit",
            "--env",
            "azureml",
            "--exclude-data",
            "--compute",
            "cpu-cluster",
            "--wait",
            "--no-stream",
        ],
        cwd=starter_project,
        extra_env=azureml_double.client_env(),
        timeout=600,
        check=True,
    )
    found = re.search(r"Azure ML job (\S+) submitted", result.stderr)
    assert found, result.stderr[-3000:]
    name = found.group(1)

    info = azureml_double.job_info(name)
    assert info["status"] == "Completed" and "--env=azureml" in info["command"]
    assert not (Path(info["scratch_dir"]) / "wd/data/01_raw/iris.csv").exists(), "the input was not uploaded"
    assert "not in the snapshot" not in result.stderr, "the dry-run input check says nothing about it"
    reads = azureml_double.requests(since, path_contains=f"/{STARTER_BLOB}", method="GET")
    assert reads and all(r["status"] in (200, 206) for r in reads), "the job read the datastore's file"
    assert "Loading data from iris" in azureml_double.job_log(name)
    metrics = MlflowClient(azureml_double.mlflow_url).get_run(name).data.metrics
    assert metrics["model_metrics.accuracy"] > 0.8, metrics


def test_a_run_reads_a_data_asset_signed_in_as_azureml_yml_says(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    from azure.ai.ml.entities import Data

    upload_iris(starter_project, azureml_double, "assets/iris-v1.csv")
    path = "azureml://datastores/workspaceblobstore/paths/assets/iris-v1.csv"
    azureml_double.ml_client().data.create_or_update(Data(name="iris", version="1", type="uri_file", path=path))
    catalog = starter_project / "conf/azureml/catalog.yml"
    catalog.write_text(
        catalog.read_text().replace(f"azureml://datastores/workspaceblobstore/paths/{STARTER_BLOB}", "azureml:iris:1")
    )
    (starter_project / "conf/azureml/azureml.yml").write_text("credentials:\n  type: environment\n")
    # Both sign-ins are available to the run; azureml.yml picks the service principal (EnvironmentCredential).
    secret = azureml_double.client_env(auth="client_secret")
    env = {
        **azureml_double.client_env(),
        **{
            key: secret[key]
            for key in ("AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
        },
        "KEDRO_AZUREML_MLFLOW_TRACKING": "off",  # only the data is read from the workspace
    }
    since = azureml_double.last_seq()
    result = run_kedro(["run", "--env", "azureml"], cwd=starter_project, extra_env=env, timeout=600, check=True)

    assert "Pipeline execution completed" in result.stdout + result.stderr
    paths = [r["path"] for r in azureml_double.requests(since)]
    assert any(p.endswith("/data/iris/versions/1") for p in paths), "resolved with data.get"
    assert any(p.endswith("/assets/iris-v1.csv") for p in paths), "read from the datastore"
    assert any(p.endswith("/oauth2/v2.0/token") for p in paths), "signed in with the configured credential"
    assert not any("/_identity/msi/" in p for p in paths), "not with the managed identity the environment offers"
