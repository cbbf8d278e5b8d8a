"""A worker process of its own finds the project's workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef

LONG = "azureml://subscriptions/s-1/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/raw/x.csv"
WRAPPED = "kedro_azureml_mlflow.datasets.AzureMLDataset"


def test_a_fresh_worker_process_gets_the_projects_workspace_and_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from kedro_azureml_mlflow.io.worker_handoff import HANDOFF_ENV
    from kedro_azureml_mlflow.io.workspace_data.access import WorkspaceAccess, use_project
    from kedro_azureml_mlflow.settings.config import PluginConfig
    from kedro_azureml_mlflow.settings.project import ProjectInfo

    monkeypatch.delenv(HANDOFF_ENV, raising=False)  # restored after the test
    for name in ("AZUREML_SUBSCRIPTION_ID", "AZUREML_ARM_SUBSCRIPTION"):
        monkeypatch.delenv(name, raising=False)
    config = PluginConfig.model_validate(
        {
            "workspace": {"subscription_id": "s-1", "resource_group": "rg", "name": "ws"},
            "credentials": {"type": "managed_identity", "client_id": "c-1"},
        }
    )
    use_project(ProjectInfo(tmp_path, "demo", "azureml", (tmp_path / "conf/base",)), config)

    with multiprocessing.get_context("spawn").Pool(1) as pool:  # like ParallelRunner under spawn: no shared state
        in_worker = pool.apply(_access_in_this_process)
    assert isinstance(in_worker, WorkspaceAccess)
    assert in_worker.workspace == WorkspaceRef("s-1", "rg", "ws", str(tmp_path / "conf/base/azureml.yml"))
    assert in_worker.credentials == config.credentials


def _access_in_this_process() -> object:
    from kedro_azureml_mlflow.io.workspace_data.access import project_access

    return project_access()
