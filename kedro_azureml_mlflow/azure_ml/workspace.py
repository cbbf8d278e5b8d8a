"""Which Azure ML workspace a project uses, in the order docs/architecture.md gives (first match wins).

1. ``workspace:`` in ``azureml.yml``;
2. a ``config.json`` as the Azure portal / ``az ml`` writes it (project root, ``.azureml/``,
   then parent folders, like ``MLClient.from_config``);
3. environment variables (``AZUREML_SUBSCRIPTION_ID`` … or those Azure ML compute injects);
4. none: the embedded local store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.config import PluginConfig

_CONFIG_JSON_KEYS = ("subscription_id", "resource_group", "workspace_name")
_ENV_SETS = (
    ("AZUREML_SUBSCRIPTION_ID", "AZUREML_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"),
    ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP", "AZUREML_ARM_WORKSPACE_NAME"),
)


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace's coordinates, plus where they came from (for error messages)."""

    subscription_id: str
    resource_group: str
    name: str
    source: str

    def describe(self) -> str:
        return (
            f"workspace '{self.name}' (resource group '{self.resource_group}', "
            f"subscription '{self.subscription_id}', from {self.source})"
        )


def resolve_workspace(
    config: PluginConfig, project_path: Path, config_file: str = "azureml.yml"
) -> WorkspaceRef | None:
    """The project's workspace, or ``None`` for local tracking."""
    if config.workspace is not None:
        ws = config.workspace
        return WorkspaceRef(ws.subscription_id, ws.resource_group, ws.name, config_file)
    found = find_config_json(project_path)
    if found is not None:
        return _read_config_json(found)
    return _from_environment()


def find_config_json(start: Path) -> Path | None:
    """The nearest ``config.json`` or ``.azureml/config.json``, walking up from ``start``."""
    for folder in [start.resolve(), *start.resolve().parents]:
        for candidate in (folder / "config.json", folder / ".azureml" / "config.json"):
            if candidate.is_file():
                return candidate
    return None


def _read_config_json(path: Path) -> WorkspaceRef:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON workspace config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object with keys {', '.join(_CONFIG_JSON_KEYS)}")
    # `az ml` writes "workspace_name"; some portal downloads use "workspace".
    data.setdefault("workspace_name", data.get("workspace"))
    missing = [key for key in _CONFIG_JSON_KEYS if not data.get(key)]
    if missing:
        raise ConfigError(f"{path}: {', '.join(missing)}: field required (an Azure ML workspace config.json)")
    return WorkspaceRef(data["subscription_id"], data["resource_group"], data["workspace_name"], str(path))


def _from_environment() -> WorkspaceRef | None:
    for names in _ENV_SETS:
        subscription, group, name = (os.environ.get(variable, "") for variable in names)
        if subscription and group and name:
            return WorkspaceRef(subscription, group, name, source="environment variables " + ", ".join(names))
    return None
