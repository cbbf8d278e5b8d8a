"""Workspace data without a workspace: how ``azureml:`` paths are read, what the catalog check refuses,
the dataset's own refusals, and what the job's environment gets."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef
from kedro_azureml_mlflow.bundle.requirements import DATA_EXTRA, plugin_extra, with_missing
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.io.workspace_data.catalog_check import check_catalog
from kedro_azureml_mlflow.io.workspace_data.locations import DataAsset, DatastorePath, parse_location

LONG = "azureml://subscriptions/s-1/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/raw/x.csv"
WRAPPED = "kedro_azureml_mlflow.datasets.AzureMLDataset"


@pytest.mark.parametrize(
    ("text", "datastore", "path", "workspace"),
    [
        (LONG, "workspaceblobstore", "raw/x.csv", ("s-1", "rg", "ws")),
        (
            LONG.replace("workspaces/", "providers/Microsoft.MachineLearningServices/workspaces/"),
            "workspaceblobstore",
            "raw/x.csv",
            ("s-1", "rg", "ws"),
        ),
        ("azureml://datastores/lake/paths/parts/", "lake", "parts/", None),
        ("AzureML://Datastores/lake/paths/a.csv", "lake", "a.csv", None),
    ],
    ids=["long", "long-with-provider", "short-folder", "any-case"],
)
def test_datastore_paths_are_read_in_every_azure_spelling(
    text: str, datastore: str, path: str, workspace: tuple[str, str, str] | None
) -> None:
    found = parse_location(text)
    assert isinstance(found, DatastorePath)
    assert (found.datastore, found.path) == (datastore, path)
    ws = found.workspace
    assert ((ws.subscription_id, ws.resource_group, ws.name) if ws else None) == workspace
    assert found.is_folder == text.endswith("/")


def test_the_short_form_becomes_the_long_one_in_the_projects_workspace() -> None:
    short = parse_location("azureml://datastores/workspaceblobstore/paths/raw/x.csv")
    assert isinstance(short, DatastorePath)
    assert short.uri(WorkspaceRef("s-1", "rg", "ws", "azureml.yml")) == LONG
    long = parse_location(LONG)
    assert isinstance(long, DatastorePath)
    assert long.uri(WorkspaceRef("other", "other", "other", "azureml.yml")) == LONG, "a named workspace wins"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("azureml:iris:3", DataAsset("iris", "3")), ("azureml:iris@latest", DataAsset("iris", label="latest"))],
)
def test_data_assets_by_version_or_label(text: str, expected: DataAsset) -> None:
    assert parse_location(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "azureml://datastores/lake",  # no /paths/
        "azureml:iris",  # no version
        "azureml://subscriptions/s/workspaces/ws/datastores/d/paths/x",  # no resource group
        "azureml:iris:1:2",
    ],
)
def test_anything_else_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected azureml://subscriptions/<subscription>/.*azureml:<name>@latest"):
        parse_location(text)


def test_the_catalog_check_finds_the_workspace_entries_and_nothing_else() -> None:
    catalog = {
        "iris": {"type": WRAPPED, "path": LONG, "dataset": "pandas.CSVDataset"},
        "asset": {"type": WRAPPED, "path": "azureml:iris:1", "dataset": "pandas.CSVDataset"},
        "local": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/x.csv"},
        "{name}_in_lake": {"type": WRAPPED, "path": "azureml://datastores/lake/paths/{name}.csv", "dataset": "x"},
        "_anchor": {"path": "azureml:ignored"},
    }
    assert [use.entry for use in check_catalog(catalog)] == ["iris", "asset", "{name}_in_lake"]


def test_a_dataset_that_cannot_open_azureml_paths_is_told_to_wrap_itself() -> None:
    catalog = {"iris": {"type": "pandas.CSVDataset", "filepath": LONG}}
    with pytest.raises(PluginError) as caught:
        check_catalog(catalog)
    assert caught.value.message == (
        f"catalog: iris: pandas.CSVDataset cannot open '{LONG}'; wrap it: type: {WRAPPED}, path: <that path>, "
        "dataset: pandas.CSVDataset (see docs/data.md)"
    )


def test_a_malformed_workspace_path_is_one_line() -> None:
    with pytest.raises(PluginError, match=r"^catalog: iris\.path: expected azureml://.* \(got 'azureml:iris'\)$"):
        check_catalog({"iris": {"type": WRAPPED, "path": "azureml:iris", "dataset": "pandas.CSVDataset"}})


def test_the_dataset_refuses_a_bad_path_and_writing_a_data_asset(tmp_path_factory: pytest.TempPathFactory) -> None:
    pytest.importorskip("azureml.fsspec", reason="the [data] extra is not installed")
    from kedro.io import DatasetError

    from kedro_azureml_mlflow.datasets import AzureMLDataset

    with pytest.raises(PluginError, match=r"^path: expected azureml://.* \(got 'azureml://nowhere'\)$"):
        AzureMLDataset(path="azureml://nowhere", dataset="pandas.CSVDataset")
    asset = AzureMLDataset(path="azureml:iris:1", dataset="pandas.CSVDataset")
    with pytest.raises(DatasetError, match=r"azureml:iris:1: a data asset version cannot be written"):
        asset.save([1])
    assert pickle.loads(pickle.dumps(asset))._describe() == {"path": "azureml:iris:1", "dataset": "CSVDataset"}


def test_the_job_gets_the_data_extra_unless_the_project_lists_it() -> None:
    extra = plugin_extra(DATA_EXTRA)
    assert [line.split(">")[0] for line in extra] == ["azureml-fsspec"]  # what pyproject's [data] says
    assert with_missing(("kedro~=1.0",), extra) == ("kedro~=1.0", *extra)
    assert with_missing(("kedro~=1.0", "azureml_fsspec==1.4"), extra) == ("kedro~=1.0", "azureml_fsspec==1.4")


def test_the_input_check_says_nothing_about_workspace_data_in_the_wrapper(tmp_path: Path) -> None:
    from kedro.pipeline import Pipeline, node

    from kedro_azureml_mlflow.bundle.data_check import missing_inputs

    catalog = {
        "by_uri": {"type": WRAPPED, "path": LONG, "dataset": "pandas.CSVDataset"},
        "by_short_uri": {"type": WRAPPED, "path": "azureml://datastores/lake/paths/a/", "dataset": "x"},
        "by_asset": {"type": WRAPPED, "path": "azureml:iris:1", "dataset": "pandas.CSVDataset"},
        "{name}_latest": {"type": WRAPPED, "path": "azureml:{name}@latest", "dataset": "pandas.CSVDataset"},
        "local": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/local.csv"},
    }
    inputs = ["by_uri", "by_short_uri", "by_asset", "iris_latest", "local"]
    pipeline = Pipeline([node(lambda *args: 1, inputs, "out", name="read_all")])

    found = missing_inputs(tmp_path, catalog, pipeline, [], "use `--include-data`")
    assert [item.dataset for item in found] == ["local"]  # the control: a local file is still named
