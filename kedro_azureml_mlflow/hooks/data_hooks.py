"""Hooks for catalogs that keep data in the workspace (a ``kedro.hooks`` entry point of their own).

Once the catalog's config is read, and before any dataset is created or any node runs, entries
with ``azureml:`` paths are checked (one line per problem: a dataset that cannot open such paths,
a malformed path, azureml-fsspec missing) and the project's workspace and ``credentials:`` are
handed to :class:`~kedro_azureml_mlflow.io.workspace_data.dataset.AzureMLDataset`. A catalog without
workspace data costs one pass over its config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_azureml_mlflow.io.workspace_data.access import require_fsspec, use_project
from kedro_azureml_mlflow.io.workspace_data.catalog_check import check_catalog


class WorkspaceDataHooks:
    """Registered through the ``kedro.hooks`` entry point, next to the tracking hooks."""

    def __init__(self) -> None:
        self._context: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._context = context

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        uses = check_catalog(conf_catalog or {})
        context = self._context
        if not uses or context is None:
            return
        require_fsspec(f"catalog: {uses[0].entry}")
        from kedro.framework import project as kedro_project

        from kedro_azureml_mlflow.settings.project import load_project

        path = Path(context.project_path)
        use_project(*load_project(path, kedro_project.PACKAGE_NAME or path.name, context.env))


hooks = WorkspaceDataHooks()
