"""Which free inputs of a pipeline the snapshot lacks: real Kedro pipelines and Kedro's own catalog
resolver (dataset factories included), checked against a snapshot listing."""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath

import pytest
from kedro.pipeline import Pipeline, node

from kedro_azureml_mlflow.bundle.data_check import free_inputs, missing_inputs
from kedro_azureml_mlflow.bundle.snapshot import SnapshotFile
from kedro_azureml_mlflow.cli.input_check import confirm_missing_inputs
from kedro_azureml_mlflow.core.errors import PluginError

DATASTORE = "azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/raw/x.csv"


def identity(*args: object) -> object:
    return args[0]


PIPELINE = Pipeline(
    [
        node(identity, ["companies", "params:split"], "preprocessed_companies", name="preprocess_companies"),
        node(identity, ["shuttles", "companies"], "preprocessed_shuttles", name="preprocess_shuttles"),
        node(identity, ["preprocessed_companies", "raw_reviews"], "model_input", name="join"),
        node(identity, ["model_input", "parameters", "partitions", "model"], "metrics", name="evaluate"),
    ]
)
CATALOG = {
    "companies": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/companies.csv", "credentials": "nowhere"},
    "shuttles": {"type": "pandas.ExcelDataset", "filepath": DATASTORE},
    "{source}_reviews": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/{source}_reviews.csv"},
    "partitions": {
        "type": "partitions.PartitionedDataset",
        "path": "data/01_raw/parts",
        "dataset": "pandas.CSVDataset",
    },
    "model": {"type": "pickle.PickleDataset", "filepath": "data/06_models/model.pkl", "versioned": True},
    "preprocessed_companies": {"type": "pandas.ParquetDataset", "filepath": "data/02_intermediate/c.pq"},
    "_anchor": {"type": "pandas.CSVDataset"},
}


def listing(*paths: str) -> list[SnapshotFile]:
    return [SnapshotFile(PurePosixPath(p), 1) for p in paths]


def missing(project: Path, files: list[SnapshotFile], catalog: dict | None = None) -> dict[str, str]:
    found = missing_inputs(project, catalog or CATALOG, PIPELINE, files, "use `--include-data`")
    return {m.dataset: m.message for m in found}


def test_free_inputs_are_read_by_a_node_and_written_by_none() -> None:
    assert free_inputs(PIPELINE) == {
        "companies": ("preprocess_companies", "preprocess_shuttles"),
        "model": ("evaluate",),
        "partitions": ("evaluate",),
        "raw_reviews": ("join",),
        "shuttles": ("preprocess_shuttles",),
    }


def test_every_local_free_input_left_out_is_named_with_its_file_and_readers(tmp_path: Path) -> None:
    assert missing(tmp_path, listing("src/x.py")) == {
        "companies": "`companies` (data/01_raw/companies.csv), read by node `preprocess_companies` and 1 more, "
        "is not in the snapshot: use `--include-data`, or point the catalog at a datastore (see docs/data.md)",
        "raw_reviews": "`raw_reviews` (data/01_raw/raw_reviews.csv), read by node `join`, is not in the snapshot: "
        "use `--include-data`, or point the catalog at a datastore (see docs/data.md)",
        "partitions": "`partitions` (data/01_raw/parts), read by node `evaluate`, is not in the snapshot: "
        "use `--include-data`, or point the catalog at a datastore (see docs/data.md)",
        "model": "`model` (data/06_models/model.pkl), read by node `evaluate`, is not in the snapshot: "
        "use `--include-data`, or point the catalog at a datastore (see docs/data.md)",
    }


def test_nothing_is_said_of_inputs_in_the_snapshot_or_in_the_workspace(tmp_path: Path) -> None:
    files = listing(
        "data/01_raw/companies.csv",
        "data/01_raw/raw_reviews.csv",
        "data/01_raw/parts/2024-01.csv",
        "data/06_models/model.pkl/2024-01-01T00.00.00.000Z/model.pkl",
    )
    assert missing(tmp_path, files) == {}


def test_absolute_paths_count_inside_the_project_and_are_named_outside_it(tmp_path: Path) -> None:
    catalog = {
        "companies": {"type": "pandas.CSVDataset", "filepath": f"file://{tmp_path}/data/01_raw/companies.csv"},
        "raw_reviews": {"type": "pandas.CSVDataset", "filepath": "/srv/shared/reviews.csv"},
        "{name}": {"type": "pandas.CSVDataset", "filepath": "azureml:{name}:1"},  # data assets
    }
    found = missing(tmp_path, listing("data/01_raw/companies.csv"), catalog)
    assert found == {
        "raw_reviews": "`raw_reviews` (/srv/shared/reviews.csv), read by node `join`, is not in the snapshot: "
        "it is outside the project, or point the catalog at a datastore (see docs/data.md)"
    }


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_submission_with_inputs_left_out_asks_in_a_terminal_and_fails_when_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = missing_inputs(tmp_path, CATALOG, PIPELINE, [], "use `--include-data`")
    with pytest.raises(PluginError, match=r"^4 inputs of the pipeline not in the snapshot \(--strict\)"):
        confirm_missing_inputs(found, strict=True)
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    with pytest.raises(PluginError, match=r"^Not submitted: nothing was uploaded$"):
        confirm_missing_inputs(found, strict=False)
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    confirm_missing_inputs(found, strict=False)  # answered yes: goes on
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody to ask (CI): goes on after the warnings
    confirm_missing_inputs(found, strict=False)
