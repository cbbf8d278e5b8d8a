"""The plugin's schedule operations against the double with the real SDK, where the CLI's end-to-end test
cannot reach: a long-running operation that fails is one error line, and a missing schedule is named."""

from __future__ import annotations

from typing import Any

import pytest

from tests.azure.test_double_conformance_schedules import created
from tests.azureml_double import AzureMLDouble

pytestmark = pytest.mark.azure


def workspace_of(double: AzureMLDouble) -> Any:
    from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
    from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef
    from kedro_azureml_mlflow.settings.config import CredentialsConfig

    ref = WorkspaceRef(double.subscription_id, double.resource_group, double.workspace_name, "test")
    workspace = AzureWorkspace(ref, CredentialsConfig())
    workspace.__dict__["ml_client"] = double.ml_client()  # the cached property, as the one it would build
    return workspace


def test_a_failing_operation_is_one_line_and_the_schedule_stays(azureml_double: AzureMLDouble) -> None:
    from kedro_azureml_mlflow.core.errors import PluginError
    from kedro_azureml_mlflow.schedules.operations import get, set_enabled

    name, _ = created(azureml_double)
    workspace = workspace_of(azureml_double)
    azureml_double.inject_http_fault(r"/mfeOperationsStatus/", status=400, count=1, method="GET", retry_after=None)

    with pytest.raises(PluginError) as raised:
        set_enabled(workspace, name, False)

    text = raised.value.format_message()
    assert text.startswith(f"Azure ML refused disabling schedule '{name}' for ") and "\n" not in text
    assert "Injected fault (400)" in text
    assert get(workspace, name).name == name


def test_a_missing_schedule_is_named(azureml_double: AzureMLDouble) -> None:
    from kedro_azureml_mlflow.core.errors import PluginError
    from kedro_azureml_mlflow.schedules.operations import trigger

    with pytest.raises(PluginError, match=r"^schedule 'nope' not found in .*; see kedro azureml schedule list$"):
        trigger(workspace_of(azureml_double), "nope")
