"""``submit --split-by`` end to end against the Azure ML double with the real SDK: the spaceflights-like
project as a pipeline job of two steps, data crossing them through the double's datastore."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KedroProject, run_kedro
from tests.test_submit_azure import job_name_from

pytestmark = [pytest.mark.azure, pytest.mark.slow]

CREATING = ("startPendingUpload", "/codes/", "/components/", "/jobs/", "/environments/")


def submit(project: KedroProject, double: AzureMLDouble, *args: str, check: bool = True) -> str:
    result = run_kedro(
        ["azureml", "submit", *args], project.path, extra_env=double.client_env(), check=check, timeout=600
    )
    return result.stdout + result.stderr + f"\n[exit {result.returncode}]"


def creating_requests(double: AzureMLDouble, since: int) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in double.requests(since)
        if r["method"] in {"PUT", "POST", "PATCH", "DELETE"} and any(part in r["path"] for part in CREATING)
    ]


def step_logs(double: AzureMLDouble) -> str:
    """Every job's log tail, to read when a step fails."""
    return "\n".join(f"--- {job.get('name')}: {double.job_log(job['name'])[-3000:]}" for job in double.jobs())


def test_split_by_namespace_completes_and_outputs_equal_a_local_run(
    spaceflights: KedroProject, azureml_double: AzureMLDouble, tmp_path: Path
) -> None:
    reference = KedroProject(Path(shutil.copytree(spaceflights.path, tmp_path / "reference")))
    reference.run()

    output = submit(
        spaceflights,
        azureml_double,
        "--split-by",
        "namespace",
        "--compute",
        "cpu-cluster",
        "--include-data",
        "--wait",
        check=False,
    )
    assert "[exit 0]" in output, output + step_logs(azureml_double)
    name = job_name_from(output)
    info = azureml_double.job_info(name)
    assert info["status"] == "Completed", output
    ml_client = azureml_double.ml_client()
    children = {child.display_name: child for child in ml_client.jobs.list(parent_job_name=name)}
    assert set(children) == {"data_processing", "data_science"}
    assert {child.status for child in children.values()} == {"Completed"}
    folders = {}
    for step, child in children.items():
        folders[step] = tmp_path / "downloaded" / step
        ml_client.jobs.download(child.name, download_path=folders[step], output_name="data")
    produced = folders["data_processing"] / "named-outputs/data"
    # A parquet file, a CSV (a dataset factory's) and a MemoryDataset crossed to data_science in their own formats.
    pd.read_parquet(produced / "data/02_intermediate/preprocessed_companies.parquet")
    pd.read_csv(produced / "data/03_primary/model_input_table.csv")
    assert (produced / "memory/preprocessed_shuttles.pickle").is_file()
    kept = folders["data_science"] / "named-outputs/data"
    assert json.loads((kept / "data/08_reporting/metrics.json").read_text()) == json.loads(
        (reference.path / "data/08_reporting/metrics.json").read_text()
    )
    ((version,),) = [list((kept / "data/06_models/regressor.pickle").iterdir())]
    ((ref_version,),) = [list((reference.path / "data/06_models/regressor.pickle").iterdir())]
    ours = pickle.loads((version / "regressor.pickle").read_bytes())
    assert ours.tolist() == pickle.loads((ref_version / "regressor.pickle").read_bytes()).tolist()

    client = MlflowClient(azureml_double.mlflow_url)
    parent = client.get_run(name)
    step_runs = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{name}'")
    assert sorted(run.info.run_id for run in step_runs) == sorted(child.name for child in children.values())
    assert {run.info.status for run in step_runs} == {"FINISHED"}
    assert {run.data.tags["mlflow.runName"] for run in step_runs} == {"data_processing", "data_science"}
