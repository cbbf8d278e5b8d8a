"""azureml-fsspec (its Rust core, rslex) reads a datastore of the double: the real, unmodified library
resolves the workspace, asks the legacy datastore API and reads the Azurite container behind it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.azure

fsspec_azureml = pytest.importorskip("azureml.fsspec", reason="the [data] extra (azureml-fsspec) is not installed")


def datastore_uri(double, path: str = "") -> str:  # type: ignore[no-untyped-def]
    return (
        f"azureml://subscriptions/{double.subscription_id}/resourcegroups/{double.resource_group}/"
        f"workspaces/{double.workspace_name}/datastores/workspaceblobstore/paths/{path}"
    )


def test_azureml_fsspec_lists_and_reads_a_datastore_file(azureml_double) -> None:  # type: ignore[no-untyped-def]
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


def test_an_unknown_datastore_is_not_found(azureml_double) -> None:  # type: ignore[no-untyped-def]
    from azureml.fsspec import AzureMachineLearningFileSystem

    uri = datastore_uri(azureml_double).replace("workspaceblobstore", "nosuchstore")
    with pytest.raises(Exception, match=r"DatastoreNotFound\(\"nosuchstore\"\)"):
        AzureMachineLearningFileSystem(uri).ls(uri)
