"""What the control plane holds in memory: its workspaces (and their assets and jobs) and its settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.azureml_double import token_expiry
from tests.azureml_double.routing import PROVIDER

# record_bodies: keep each request's headers and body in the request log (to search what was sent).
DEFAULT_SETTINGS = {"azure_limits": True, "record_bodies": False, **token_expiry.DEFAULTS}


@dataclass
class Workspace:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    workspace_id: str
    computes: dict[str, dict]
    codes: dict[tuple[str, str], dict] = field(default_factory=dict)
    environments: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)  # data asset versions (routes_data.py)
    jobs: dict[str, Any] = field(default_factory=dict)  # name -> compute.Job

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{PROVIDER}/workspaces/{self.name}"
        )

    @property
    def scope(self) -> str:  # same as arm_id; the tracking URI path
        return self.arm_id
