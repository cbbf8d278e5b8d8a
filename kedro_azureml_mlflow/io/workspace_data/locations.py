"""Where a catalog entry's data lives in an Azure ML workspace, read from its ``path``.

Three spellings, as Azure ML writes them:

- ``azureml://subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/datastores/<d>/paths/<p>``: a datastore
  path in a named workspace (``providers/Microsoft.MachineLearningServices/`` may precede ``workspaces``);
- ``azureml://datastores/<d>/paths/<p>``: the same in the project's own workspace;
- ``azureml:<name>:<version>`` or ``azureml:<name>@<label>``: a data asset.

Parsing only: nothing here imports Azure, so the dry run and the hooks can call it freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef

PREFIX = "azureml:"
_LONG = re.compile(
    r"azureml://subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<group>[^/]+)/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/(?P<workspace>[^/]+)/"
    r"datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)",
    re.IGNORECASE,
)
_SHORT = re.compile(r"azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)", re.IGNORECASE)
_ASSET = re.compile(r"azureml:(?P<name>[A-Za-z0-9_.-]+)(?::(?P<version>[A-Za-z0-9_.-]+)|@(?P<label>[A-Za-z0-9_.-]+))")
EXPECTED = (
    "expected azureml://subscriptions/<subscription>/resourcegroups/<group>/workspaces/<workspace>/datastores/"
    "<datastore>/paths/<path>, azureml://datastores/<datastore>/paths/<path>, azureml:<name>:<version> "
    "or azureml:<name>@latest"
)
PATH_KEYS = ("path", "filepath")


@dataclass(frozen=True)
class DatastorePath:
    """A file or folder in a datastore; ``workspace`` is None for the short form (the project's own)."""

    datastore: str
    path: str
    workspace: WorkspaceRef | None = None

    def uri(self, workspace: WorkspaceRef) -> str:
        """The long form, which azureml-fsspec opens without guessing the workspace."""
        ws = self.workspace or workspace
        return (
            f"azureml://subscriptions/{ws.subscription_id}/resourcegroups/{ws.resource_group}/"
            f"workspaces/{ws.name}/datastores/{self.datastore}/paths/{self.path}"
        )

    def __str__(self) -> str:
        return (
            self.uri(self.workspace) if self.workspace else f"azureml://datastores/{self.datastore}/paths/{self.path}"
        )

    @property
    def is_folder(self) -> bool:
        return self.path == "" or self.path.endswith("/")


@dataclass(frozen=True)
class DataAsset:
    """A data asset: a name and a version or a label (``latest``)."""

    name: str
    version: str | None = None
    label: str | None = None

    def __str__(self) -> str:
        return f"azureml:{self.name}:{self.version}" if self.version else f"azureml:{self.name}@{self.label}"


Location = DatastorePath | DataAsset


def is_workspace_location(value: object) -> bool:
    """Does this catalog value name data in a workspace (any ``azureml:`` spelling, valid or not)?"""
    return isinstance(value, str) and value[: len(PREFIX)].lower() == PREFIX


def parse_location(text: str) -> Location:
    """The datastore path or data asset ``text`` names; ``ValueError`` (saying what is expected) otherwise."""
    long = _LONG.fullmatch(text)
    if long:
        ws = WorkspaceRef(long["subscription"], long["group"], long["workspace"], source=f"the path {text}")
        return DatastorePath(long["datastore"], long["path"].lstrip("/"), ws)
    short = _SHORT.fullmatch(text)
    if short:
        return DatastorePath(short["datastore"], short["path"].lstrip("/"))
    asset = _ASSET.fullmatch(text)
    if asset:
        return DataAsset(asset["name"], asset["version"], asset["label"])
    raise ValueError(EXPECTED)


@dataclass(frozen=True)
class CatalogUse:
    """A catalog entry (or dataset factory) that names workspace data, and the dataset type it uses."""

    entry: str
    location: str
    dataset_type: str


def workspace_entries(catalog: Mapping[str, Any]) -> Iterator[CatalogUse]:
    """Every top-level catalog entry whose ``path``/``filepath`` is an ``azureml:`` location."""
    for entry, config in catalog.items():
        if entry.startswith("_") or not isinstance(config, Mapping):
            continue
        for key in PATH_KEYS:
            if is_workspace_location(config.get(key)):
                yield CatalogUse(entry, str(config[key]), str(config.get("type", "")))
                break
