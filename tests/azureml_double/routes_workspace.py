"""Workspaces: the ARM workspace (its ``mlFlowTrackingUri`` and ``discoveryUrl``), the list, and discovery."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.azureml_double._http import Request
from tests.azureml_double.routing import PROVIDER, WS, router
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


def workspace_body(d: Double, ws: Workspace) -> dict:
    storage = (
        f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    )
    return {
        "id": ws.arm_id,
        "name": ws.name,
        "type": f"{PROVIDER}/workspaces",
        "location": ws.location,
        "kind": "Default",
        "tags": {},
        "identity": {"type": "SystemAssigned", "principalId": str(uuid.UUID(int=1)), "tenantId": d.tenant_id},
        "sku": {"name": "Basic", "tier": "Basic"},
        "systemData": {
            "createdAt": "2024-01-01T00:00:00Z",
            "createdBy": "double@example.invalid",
            "createdByType": "User",
        },
        "properties": {
            "friendlyName": ws.name,
            "description": "Local Azure ML test double workspace",
            "workspaceId": ws.workspace_id,
            "provisioningState": "Succeeded",
            "storageAccount": storage,
            "keyVault": storage.replace("Microsoft.Storage/storageAccounts", "Microsoft.KeyVault/vaults"),
            "applicationInsights": storage.replace(
                "Microsoft.Storage/storageAccounts", "Microsoft.Insights/components"
            ),
            "discoveryUrl": f"{d.base_url}/discovery/workspaces/{ws.workspace_id}",
            "mlFlowTrackingUri": d.tracking_uri(ws),
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
            "v1LegacyMode": False,
            "storageHnsEnabled": False,
            "privateLinkCount": 0,
            "workspaceHubConfig": None,
        },
    }


@router.route("GET", WS)
def get_workspace(d: Double, req: Request, ws: Workspace):
    return 200, workspace_body(d, ws)


@router.route(
    "GET",
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces",
)
def list_workspaces(d: Double, req: Request, sub: str, rg: str):
    items = [
        workspace_body(d, w)
        for w in d.workspaces.values()
        if w.subscription_id.lower() == sub.lower() and w.resource_group.lower() == rg.lower()
    ]
    return 200, {"value": items}


@router.route("GET", r"/discovery/workspaces/(?P<wsid>[^/]+)", auth=False)
def discovery(d: Double, req: Request, wsid: str):
    base = d.base_url
    keys = [
        "api",
        "catalog",
        "experimentation",
        "gallery",
        "history",
        "hyperdrive",
        "labeling",
        "modelmanagement",
        "pipelines",
        "studio",
    ]
    out = {k: base for k in keys}
    out["studio"] = "https://ml.azure.com"
    return 200, out
