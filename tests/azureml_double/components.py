"""Component versions, as the pipeline jobs of the double use them (anonymous components above all).

``PUT {ws}/components/{name}/versions/{version}`` answers as recorded (source [P1] of
``tests/azure/test_double_conformance_pipelines.py``, which checks it): 201 with a ``Location`` naming the URL's
version, but a body whose ``name``/``id`` is a server GUID, different from the client's content hash in the
URL; that id is what the SDK puts into a pipeline's ``jobs.<node>.componentId``. A second PUT of the same URL
version answers 201 again with the version first created. The spec comes back normalised: booleans become
``"True"``/``"False"``, an input without ``optional`` gets ``"False"``, ``azureml:<name>:<version>``
environments become the ``azureml`` registry's id, ``resources.instance_count: "1"`` is added, ``_source`` is
dropped.

Routes (relative to the workspace scope)::

    PUT  {ws}/components/{name}/versions/{version}
    GET  {ws}/components/{name}/versions/{version}    by the URL version or by the server GUID
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from tests.azureml_double._http import Request
from tests.azureml_double.routes_assets import asset_meta, not_found
from tests.azureml_double.routing import PROVIDER, WS, router
from tests.azureml_double.server import Double
from tests.azureml_double.state import Workspace

COMPONENT_TYPE = f"{PROVIDER}/workspaces/components/versions"


def components_of(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    """The workspace's component versions, by (lower-case name, version); a server GUID is a version too."""
    store: dict[tuple[str, str], dict[str, Any]] = ws.__dict__.setdefault("components", {})
    return store


def component_by_id(ws: Workspace, component_id: str) -> dict[str, Any] | None:
    """The stored component an ARM id (``.../components/<name>/versions/<version>``) names."""
    found = re.search(r"/components/([^/]+)/versions/([^/]+)$", component_id or "")
    if found is None:
        return None
    return components_of(ws).get((found.group(1).lower(), found.group(2)))


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _environment(env: Any) -> Any:
    """``azureml:<name>:<version>`` (a curated environment) as the registry id the service answers."""
    found = re.fullmatch(r"azureml:([^:/@]+):([^:/@]+)", str(env or ""))
    if found is None:
        return env
    return f"azureml://registries/azureml/environments/{found.group(1)}/versions/{found.group(2)}"


def normalised_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The component spec as the service echoes it (see the module docstring)."""
    out = {k: copy.deepcopy(v) for k, v in spec.items() if k != "_source"}
    if "is_deterministic" in out:
        out["is_deterministic"] = _as_text(out["is_deterministic"])
    inputs = {}
    for name, sent in (out.get("inputs") or {}).items():
        port = {k: _as_text(v) if k in ("optional", "default") else v for k, v in sent.items()}
        port.setdefault("optional", "False")
        inputs[name] = port
    if "inputs" in out:
        out["inputs"] = inputs
    if "environment" in out:
        out["environment"] = _environment(out["environment"])
    resources = dict(out.get("resources") or {})
    resources["instance_count"] = _as_text(resources.get("instance_count", 1))
    out["resources"] = resources
    return out


@router.route("PUT", WS + r"/components/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def put_component_version(d: Double, req: Request, ws: Workspace, name: str, version: str) -> tuple[int, Any, dict]:
    location = (
        f"{d.base_url}{ws.arm_id}/components/{name}/versions/{version}?api-version={req.query.get('api-version', '')}"
    )
    store = components_of(ws)
    with d.lock:
        item = store.get((name.lower(), version))
        if item is None:
            props = dict((req.json() or {}).get("properties") or {})
            server_version = str(uuid.uuid4()) if props.get("isAnonymous") else version
            item = {
                "id": f"{ws.arm_id}/components/{name}/versions/{server_version}",
                "name": server_version,
                "type": COMPONENT_TYPE,
                "properties": {
                    "description": None,
                    "tags": props.get("tags") or {},
                    "properties": props.get("properties") or {},
                    "isArchived": False,
                    "isAnonymous": bool(props.get("isAnonymous")),
                    "autoDeleteSetting": None,
                    "componentSpec": normalised_spec(props.get("componentSpec") or {}),
                    "provisioningState": "Succeeded",
                    "stage": "Development",
                },
                "systemData": asset_meta(d),
            }
            store[(name.lower(), version)] = item
            store[(name.lower(), server_version)] = item
    return 201, item, {"Location": location}


@router.route("GET", WS + r"/components/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def get_component_version(d: Double, req: Request, ws: Workspace, name: str, version: str) -> tuple[int, Any]:
    with d.lock:
        item = components_of(ws).get((name.lower(), version))
    if item is None:
        raise not_found("Component", ws, name, version)
    return 200, item
