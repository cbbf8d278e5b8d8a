"""``kedro azureml submit`` and the job's data, on a project made from the starter: what a dry run
ships and warns about, ``--strict``, and planted credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_snapshot_rules import SPACEFLIGHTS_EXTRA, gitignore
from tests.kedro_project import run_kedro
from tests.planted_secrets import make_tree, reproduction

pytestmark = pytest.mark.slow

WARNING = (
    "`iris` (data/01_raw/iris.csv), read by node `split_data`, is not in the snapshot: use `--include-data`, "
    "or point the catalog at a datastore (see docs/data.md)"
)
DATASTORE_URI = (
    "azureml://subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/workspaces/ws/"
    "datastores/workspaceblobstore/paths/iris/iris.csv"
)


def submit(project: Path, *args: str, check: bool = True):
    return run_kedro(["azureml", "submit", *args], cwd=project, check=check, timeout=300)


def listed_files(stdout: str) -> set[str]:
    return {line.split("│")[1].strip() for line in stdout.splitlines() if line.count("│") == 3}


def test_dry_run_warns_about_a_free_input_left_out(starter_project: Path) -> None:
    result = submit(starter_project, "--dry-run", "--exclude-data")
    assert f"Warning: {WARNING}" in result.stderr
    assert "data/01_raw/iris.csv" not in listed_files(result.stdout)


def test_dry_run_is_silent_when_the_input_is_included(starter_project: Path) -> None:
    result = submit(starter_project, "--dry-run")  # the starter uploads data/01_raw
    assert "data/01_raw/iris.csv" in listed_files(result.stdout)
    assert "not in the snapshot" not in result.stderr and "Warning" not in result.stderr


def test_dry_run_is_silent_for_an_azureml_datastore_path(starter_project: Path) -> None:
    env = starter_project / "conf/cloud"
    env.mkdir()
    (env / "catalog.yml").write_text(
        f"iris:\n  type: kedro_azureml_mlflow.datasets.AzureMLDataset\n  path: {DATASTORE_URI}\n"
        "  dataset: pandas.CSVDataset\n"
    )
    result = submit(starter_project, "--dry-run", "--exclude-data", "--env", "cloud")
    assert "not in the snapshot" not in result.stderr
    assert "kedro run --pipelines=__default__ --env=cloud" in result.stdout


def test_only_the_nodes_submitted_count(starter_project: Path) -> None:
    result = submit(starter_project, "--dry-run", "--exclude-data", "--nodes", "train_model")
    assert "not in the snapshot" not in result.stderr  # train_model reads only what split_data writes


def test_spaceflights_gitignore_with_include_data_ships_the_raw_file(starter_project: Path) -> None:
    (starter_project / ".amlignore").unlink()
    (starter_project / ".gitignore").write_text(gitignore("kedro-default") + SPACEFLIGHTS_EXTRA)
    raw = starter_project / "data/01_raw"
    (raw / "iris.csv").rename(raw / "companies.csv")
    (raw / "other.csv").write_text("not re-included\n")
    catalog = starter_project / "conf/base/catalog.yml"
    catalog.write_text(catalog.read_text().replace("data/01_raw/iris.csv", "data/01_raw/companies.csv"))

    result = submit(starter_project, "--dry-run", "--include-data")
    files = listed_files(result.stdout)
    assert "data/01_raw/companies.csv" in files and "data/01_raw/other.csv" not in files
    assert "not in the snapshot" not in result.stderr


def test_strict_fails_before_anything_runs(starter_project: Path) -> None:
    result = submit(starter_project, "--backend", "local", "--exclude-data", "--strict", check=False)
    assert result.returncode == 1
    assert f"Warning: {WARNING}" in result.stderr
    assert "Error: 1 input of the pipeline not in the snapshot (--strict): nothing was uploaded" in result.stderr
    assert "Running the MLflow Project locally" not in result.stderr
    assert not (starter_project / ".kedro_azureml_mlflow").exists(), "the staging folder is cleaned up"


def test_planted_credentials_never_reach_the_dry_run_listing(starter_project: Path) -> None:
    # Issue 11's reproduction, as a user would type it.
    secret = "sk-X4e8d1c7a9b"
    planted = reproduction(secret)
    make_tree(starter_project, planted)
    result = submit(starter_project, "--dry-run", "--compute", "c")
    assert not set(planted) & listed_files(result.stdout)
    assert "conf/base/catalog.yml" in listed_files(result.stdout)

    (starter_project / "notebooks/explore.py").write_text(f'TOKEN = "{secret}"\n')
    refused = submit(starter_project, "--dry-run", check=False)
    assert refused.returncode == 1
    assert "Error: notebooks/explore.py: holds the value of " in refused.stderr and "Traceback" not in refused.stderr
    assert secret not in refused.stderr + refused.stdout
