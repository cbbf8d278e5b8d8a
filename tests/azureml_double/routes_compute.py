"""Computes: the workspace's compute clusters (emulated: their jobs run on this machine, see ``compute.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import PROVIDER, WS, router
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


def compute_body(ws: Workspace, c: dict) -> dict:
    props = {
        "computeType": c.get("type", "AmlCompute"),
        "computeLocation": ws.location,
        "provisioningState": "Succeeded",
        "description": c.get("description", "Emulated compute (azureml double): runs jobs locally"),
        "isAttachedCompute": False,
        "disableLocalAuth": True,
        "properties": {
            "vmSize": c.get("size", "STANDARD_DS3_V2"),
            "vmPriority": "Dedicated",
            "scaleSettings": {
                "maxNodeCount": c.get("max_instances", 4),
                "minNodeCount": 0,
                "nodeIdleTimeBeforeScaleDown": "PT120S",
            },
            "allocationState": "Steady",
            "currentNodeCount": 0,
            "targetNodeCount": 0,
            "osType": "Linux",
            "enableNodePublicIp": True,
            "remoteLoginPortPublicAccess": "Disabled",
        },
    }
    return {
        "id": f"{ws.arm_id}/computes/{c['name']}",
        "name": c["name"],
        "type": f"{PROVIDER}/workspaces/computes",
        "location": ws.location,
        "tags": {},
        "properties": props,
    }


@router.route("GET", WS + r"/computes/(?P<name>[^/]+)")
def get_compute(d: Double, req: Request, ws: Workspace, name: str):
    c = ws.computes.get(name.lower())
    if c is None:
        raise HttpError(
            404,
            "ResourceNotFound",
            f"The Resource '{PROVIDER}/workspaces/{ws.name}/computes/{name}' under resource group "
            f"'{ws.resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )
    return 200, compute_body(ws, c)


@router.route("GET", WS + r"/computes")
def list_computes(d: Double, req: Request, ws: Workspace):
    return 200, {"value": [compute_body(ws, c) for c in ws.computes.values()]}
