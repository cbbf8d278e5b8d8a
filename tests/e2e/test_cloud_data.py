"""The starter's ``azureml`` conf env on this machine, without a workspace: what ``submit`` makes of it, and
what ``kedro run`` says when a catalog's workspace data cannot be read (end-to-end runs: test_cloud_data_azure.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kedro_project import run_kedro

pytestmark = pytest.mark.slow

WRAPPED = "kedro_azureml_mlflow.datasets.AzureMLDataset"
STARTER_PATH = "azureml://datastores/workspaceblobstore/paths/demo/iris.csv"


def submit(project: Path, *args: str, check: bool = True):
    return run_kedro(["azureml", "submit", *args], cwd=project, check=check, timeout=300)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error: ")]


def test_the_starter_ships_a_cloud_env_reading_the_datastore(starter_project: Path) -> None:
    import yaml

    catalog = yaml.safe_load((starter_project / "conf/azureml/catalog.yml").read_text())
    assert catalog == {"iris": {"type": WRAPPED, "path": STARTER_PATH, "dataset": "pandas.CSVDataset"}}


def test_dry_run_of_the_cloud_env_is_silent_and_gives_the_job_the_data_extra(starter_project: Path) -> None:
    cloud = submit(starter_project, "--dry-run", "--exclude-data", "--env", "azureml")
    local = submit(starter_project, "--dry-run", "--exclude-data")

    assert "Warning" not in cloud.stderr and "not in the snapshot" not in cloud.stderr
    assert "kedro run --pipelines=__default__ --env=azureml" in cloud.stdout
    assert "- azureml-fsspec>=1.3" in cloud.stdout, "python_env.yaml lists the [data] extra for the job"
    assert "azureml-fsspec" not in local.stdout and "`iris` (data/01_raw/iris.csv)" in local.stderr


def test_submit_refuses_a_dataset_that_cannot_open_azureml_paths(starter_project: Path) -> None:
    (starter_project / "conf/azureml/catalog.yml").write_text(
        f"iris:\n  type: pandas.CSVDataset\n  filepath: {STARTER_PATH}\n"
    )
    result = submit(starter_project, "--dry-run", "--env", "azureml", check=False)
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"Error: catalog: iris: pandas.CSVDataset cannot open '{STARTER_PATH}'; wrap it: type: {WRAPPED}, "
        "path: <that path>, dataset: pandas.CSVDataset (see docs/data.md)"
    ]
    assert "── MLproject" not in result.stdout, "stopped before packaging"


def test_without_the_data_extra_a_run_stops_with_one_line_naming_it(starter_project: Path, tmp_path: Path) -> None:
    # azureml-fsspec "not installed" for the run: its import fails as it would without the package.
    blocker = tmp_path / "without_azureml_fsspec"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['azureml.fsspec'] = None\n")
    result = run_kedro(
        ["run", "--env", "azureml"],
        cwd=starter_project,
        extra_env={"PYTHONPATH": str(blocker), "KEDRO_AZUREML_MLFLOW_TRACKING": "off"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert error_lines(output) == [
        "Error: catalog: iris: azureml: paths are read and written with azureml-fsspec, which is not installed: "
        "pip install 'kedro-azureml-mlflow[data]'"
    ], output[-3000:]
    assert "Traceback" not in output and "Running node" not in output
