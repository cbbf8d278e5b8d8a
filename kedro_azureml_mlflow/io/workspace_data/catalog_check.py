"""Catalog entries that keep data in the workspace, checked before anything runs or is uploaded.

Used by the hooks (before a ``kedro run`` creates any dataset) and by ``submit`` (before upload,
where it also decides that the job needs the plugin's ``data`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.io.workspace_data.locations import CatalogUse, parse_location, workspace_entries

DATASET_TYPE = "kedro_azureml_mlflow.datasets.AzureMLDataset"


def check_catalog(catalog: Mapping[str, Any]) -> list[CatalogUse]:
    """The entries with ``azureml:`` paths, each checked; a :class:`PluginError` for the first problem."""
    uses = list(workspace_entries(catalog))
    for use in uses:
        if not _is_azureml_dataset(use.dataset_type):
            raise PluginError(
                f"catalog: {use.entry}: {use.dataset_type} cannot open {quoted(use.location, 300)}; wrap it: "
                f"type: {DATASET_TYPE}, path: <that path>, dataset: {use.dataset_type} (see docs/data.md)"
            )
        try:
            parse_location(use.location)
        except ValueError as exc:
            raise PluginError(f"catalog: {use.entry}.path: {exc} (got {quoted(use.location, 300)})") from None
    return uses


def _is_azureml_dataset(type_name: str) -> bool:
    """The plugin's dataset, or a subclass (a type Kedro cannot load is left for Kedro to report)."""
    from kedro.io import DatasetError
    from kedro.io.core import parse_dataset_definition

    from kedro_azureml_mlflow.io.workspace_data.dataset import AzureMLDataset

    try:
        dataset_class, _ = parse_dataset_definition({"type": type_name})
    except DatasetError:  # Kedro says what is wrong with the type when it creates the dataset
        return True
    return issubclass(dataset_class, AzureMLDataset)
