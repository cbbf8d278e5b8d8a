"""azureml-fsspec (its Rust core, rslex) reads a datastore of the double: the real, unmodified library
resolves the workspace, asks the legacy datastore API and reads the Azurite container behind it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.azure

fsspec_azureml = pytest.importorskip("azureml.fsspec", reason="the [data] extra (azureml-fsspec) is not installed")


def datastore_uri(double, path: str = "") -> str:
    return (
        f"azureml://subscriptions/{double.subscription_id}/resourcegroups/{double.resource_group}/"
        f"workspaces/{double.workspace_name}/datastores/workspaceblobstore/paths/{path}"
    )


def test_azureml_fsspec_lists_and_reads_a_datastore_file(azureml_double) -> None:
    from azureml.fsspec import AzureMachineLearningFileSystem

    store = azureml_double.ml_client().datastores.get("workspaceblobstore")
    container = azureml_double.blob_service().get_container_client(store.container_name)
    container.upload_blob("raw/iris.csv", b"sepal_length,species\n5.1,setosa\n", overwrite=True)
    since = azureml_double.last_seq()

    fs = AzureMachineLearningFileSystem(datastore_uri(azureml_double))
    listed = fs.ls(datastore_uri(azureml_double, "raw/"))
    with fs.open(datastore_uri(azureml_double, "raw/iris.csv")) as handle:
        content = handle.read()

    assert listed == ["raw/iris.csv"]
    assert content == b"sepal_length,species\n5.1,setosa\n"
    paths = [r["path"] for r in azureml_double.requests(since)]
    assert any(p.startswith("/datastore/v1.0/") and p.endswith("/datastores/workspaceblobstore") for p in paths)
    assert any(p.endswith(f"/{store.container_name}/raw/iris.csv") for p in paths), "read from the Azurite container"


def test_an_unknown_datastore_is_not_found(azureml_double) -> None:
    from azureml.fsspec import AzureMachineLearningFileSystem

    uri = datastore_uri(azureml_double).replace("workspaceblobstore", "nosuchstore")
    with pytest.raises(Exception, match=r"DatastoreNotFound\(\"nosuchstore\"\)"):
        AzureMachineLearningFileSystem(uri).ls(uri)


# ------------------------------------------------------------------------------ data assets and AzureMLDataset

CSV = "sepal_length,species\n5.1,setosa\n6.3,virginica\n"


def upload(double, path: str, data: bytes) -> None:
    store = double.ml_client().datastores.get("workspaceblobstore")
    double.blob_service().get_container_client(store.container_name).upload_blob(path, data, overwrite=True)


def blob(double, path: str) -> bytes:
    store = double.ml_client().datastores.get("workspaceblobstore")
    return bytes(double.blob_service().get_container_client(store.container_name).download_blob(path).readall())


def test_data_assets_are_created_and_read_with_azure_ai_ml(azureml_double, tmp_path) -> None:
    from azure.ai.ml.entities import Data
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    ml_client = azureml_double.ml_client()
    remote = "azureml://datastores/workspaceblobstore/paths/raw/iris.csv"
    made = ml_client.data.create_or_update(Data(name="flowers", version="1", type="uri_file", path=remote))
    local = tmp_path / "flowers.csv"
    local.write_text(CSV)
    uploaded = ml_client.data.create_or_update(Data(name="flowers", version="2", type="uri_file", path=str(local)))

    assert made.path == remote
    assert uploaded.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert blob(azureml_double, uploaded.path.split("/paths/", 1)[1]) == CSV.encode(), "uploaded to the datastore"
    assert ml_client.data.get("flowers", version="1").path == remote
    assert ml_client.data.get("flowers", label="latest").version == "2"
    with pytest.raises(ResourceNotFoundError):
        ml_client.data.get("flowers", version="9")
    with pytest.raises(HttpResponseError, match="immutable"):
        ml_client.data.create_or_update(Data(name="flowers", version="1", type="uri_file", path=uploaded.path))


def test_a_datastore_file_saved_through_the_dataset_is_in_the_datastore_and_reads_back(azureml_double) -> None:
    import pandas as pd

    from kedro_azureml_mlflow.datasets import AzureMLDataset

    frame = pd.DataFrame({"sepal_length": [5.1, 6.3], "species": ["setosa", "virginica"]})
    since = azureml_double.last_seq()
    AzureMLDataset(path=datastore_uri(azureml_double, "out/flowers.csv"), dataset="pandas.CSVDataset").save(frame)

    assert blob(azureml_double, "out/flowers.csv") == frame.to_csv(index=False).encode()
    puts = azureml_double.requests(since, path_contains="/out/flowers.csv", method="PUT")
    assert puts and all(r["status"] == 201 for r in puts), "written by azureml-fsspec through the blob front"
    short = AzureMLDataset(
        path="azureml://datastores/workspaceblobstore/paths/out/flowers.csv", dataset="pandas.CSVDataset"
    )
    pd.testing.assert_frame_equal(short.load(), frame)
    assert short.exists()
    assert not AzureMLDataset(path=datastore_uri(azureml_double, "out/none.csv"), dataset="pandas.CSVDataset").exists()


def test_a_folder_round_trips_through_a_partitioned_dataset(azureml_double) -> None:
    import pandas as pd

    from kedro_azureml_mlflow.datasets import AzureMLDataset

    folder = AzureMLDataset(
        path="azureml://datastores/workspaceblobstore/paths/parts/",
        dataset={"type": "partitions.PartitionedDataset", "dataset": "pandas.CSVDataset", "filename_suffix": ".csv"},
        filepath_arg="path",
    )
    folder.save({"2024/01": pd.DataFrame({"v": [1]}), "2024/02": pd.DataFrame({"v": [2]})})

    assert blob(azureml_double, "parts/2024/02.csv") == b"v\n2\n"
    loaded = folder.load()
    assert {name: load()["v"].tolist() for name, load in loaded.items()} == {"2024/01": [1], "2024/02": [2]}


def test_a_data_asset_is_read_from_the_catalog(azureml_double) -> None:
    from azure.ai.ml.entities import Data
    from kedro.io import DataCatalog

    upload(azureml_double, "assets/flowers-v3.csv", CSV.encode())
    path = "azureml://datastores/workspaceblobstore/paths/assets/flowers-v3.csv"
    azureml_double.ml_client().data.create_or_update(Data(name="flowers", version="3", type="uri_file", path=path))
    dataset = {"type": "kedro_azureml_mlflow.datasets.AzureMLDataset", "dataset": "pandas.CSVDataset"}
    catalog = DataCatalog.from_config(
        {"pinned": {**dataset, "path": "azureml:flowers:3"}, "latest": {**dataset, "path": "azureml:flowers@latest"}}
    )
    since = azureml_double.last_seq()

    assert catalog.load("pinned")["species"].tolist() == ["setosa", "virginica"]
    assert catalog.load("latest").equals(catalog.load("pinned"))
    asked = [r["path"] for r in azureml_double.requests(since, method="GET")]
    assert any(p.endswith("/data/flowers/versions/3") for p in asked), "resolved with azure-ai-ml's data.get"
    assert any(p.endswith("/assets/flowers-v3.csv") for p in asked), "read from the datastore it points to"


def test_an_unknown_data_asset_and_writing_one_are_clear_errors(azureml_double) -> None:
    from kedro.io import DatasetError

    from kedro_azureml_mlflow.datasets import AzureMLDataset

    with pytest.raises(DatasetError, match=r"Not found while reading the data asset azureml:nothing:1 for workspace"):
        AzureMLDataset(path="azureml:nothing:1", dataset="pandas.CSVDataset").load()
    with pytest.raises(DatasetError, match=r"azureml:nothing@latest: .*not found.* \(workspace 'ws-kedro-double'"):
        AzureMLDataset(path="azureml:nothing@latest", dataset="pandas.CSVDataset").load()
