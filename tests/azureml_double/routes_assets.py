"""Versioned assets: code snapshots (with the content-hash look-up and the upload container) and environments."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import PROVIDER, WS, iso, router, user_error_404, utcnow
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


def asset_meta(d: Double) -> dict:
    now = iso(utcnow())
    return {
        "createdAt": now,
        "createdBy": "double@example.invalid",
        "createdByType": "User",
        "lastModifiedAt": now,
        "lastModifiedBy": "double@example.invalid",
        "lastModifiedByType": "User",
    }


def not_found(kind: str, ws: Workspace, name: str, version: str | None = None) -> HttpError:
    what = f"{name}:{version}" if version else name
    return user_error_404(
        f"{kind} {what} not found in workspace {ws.name}.",
        f"Could not find asset with ID: {ws.arm_id}/{kind.lower()}s/{what}",
    )


@router.route("GET", WS + r"/codes/(?P<name>[^/]+)/versions")
def list_code_versions(d: Double, req: Request, ws: Workspace, name: str):
    want_hash = req.query.get("hash")
    with d.lock:
        if want_hash:
            # Like the service: a content-hash look-up matches any code asset of the workspace (anonymous code
            # gets a fresh random name per submission; the SDK reads the name back from the returned id).
            items = [
                c
                for c in ws.codes.values()
                if c["properties"].get("properties", {}).get("hash_sha256") == want_hash
                and str(c["properties"].get("properties", {}).get("hash_version"))
                == req.query.get("hashVersion", "202208")
            ]
        else:
            items = [c for (n, _), c in ws.codes.items() if n == name.lower()]
    return 200, {"value": items}


@router.route("POST", WS + r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/startPendingUpload")
def code_start_pending_upload(d: Double, req: Request, ws: Workspace, name: str, version: str):
    blob_uri, sas_uri = d.compute.storage.new_upload_container(prefix="code")
    return 200, {
        "blobReferenceForConsumption": {
            "blobUri": blob_uri,
            "storageAccountArmId": None,
            "credential": {"credentialType": "SAS", "sasUri": sas_uri},
        },
        "pendingUploadId": str(uuid.uuid4()),
        "pendingUploadType": "TemporaryBlobReference",
    }


def put_asset_version(
    d: Double, req: Request, ws: Workspace, kind: str, store: dict, name: str, version: str, defaults: dict
) -> tuple[int, dict]:
    """Create or replace one version of a versioned asset (``codes``, ``environments``) as ARM does."""
    props = {
        "isArchived": False,
        "provisioningState": "Succeeded",
        **defaults,
        **dict((req.json() or {}).get("properties") or {}),
    }
    item = {
        "id": f"{ws.arm_id}/{kind}/{name}/versions/{version}",
        "name": version,
        "type": f"{PROVIDER}/workspaces/{kind}/versions",
        "properties": props,
        "systemData": asset_meta(d),
    }
    with d.lock:
        existed = (name.lower(), version) in store
        store[(name.lower(), version)] = item
    return (200 if existed else 201), item


@router.route("PUT", WS + r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def put_code_version(d: Double, req: Request, ws: Workspace, name: str, version: str):
    return put_asset_version(d, req, ws, "codes", ws.codes, name, version, {})


@router.route("GET", WS + r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def get_code_version(d: Double, req: Request, ws: Workspace, name: str, version: str):
    with d.lock:
        item = ws.codes.get((name.lower(), version))
    if item is None:
        raise not_found("Code", ws, name, version)
    return 200, item


# ========================================================================================= environments


def _env_versions(d: Double, ws: Workspace, name: str) -> list[dict]:
    with d.lock:
        items = [e for (n, _), e in ws.environments.items() if n == name.lower()]
    return sorted(items, key=lambda e: e["systemData"]["createdAt"], reverse=True)


@router.route("PUT", WS + r"/environments/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def put_environment_version(d: Double, req: Request, ws: Workspace, name: str, version: str):
    from tests.azureml_double.environment_rules import check_environment_version

    check_environment_version(req.json() or {})
    defaults = {
        "osType": "Linux",
        "environmentType": "UserCreated",
        "autoRebuild": "Disabled",
        "isAnonymous": name == "CliV2AnonymousEnvironment",
        "stage": "Development",
        "properties": {"azureml.labels": "latest"},
    }
    return put_asset_version(d, req, ws, "environments", ws.environments, name, version, defaults)


@router.route("GET", WS + r"/environments/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def get_environment_version(d: Double, req: Request, ws: Workspace, name: str, version: str):
    if version.lower() == "latest":  # not a real route on Azure, harmless convenience
        items = _env_versions(d, ws, name)
        if items:
            return 200, items[0]
        raise not_found("Environment", ws, name, version)
    with d.lock:
        item = ws.environments.get((name.lower(), version))
    if item is None:
        raise not_found("Environment", ws, name, version)
    return 200, item


@router.route("GET", WS + r"/environments/(?P<name>[^/]+)/versions")
def list_environment_versions(d: Double, req: Request, ws: Workspace, name: str):
    items = _env_versions(d, ws, name)
    top = req.query.get("$top")
    if top:
        items = items[: int(top)]
    return 200, {"value": items}


@router.route("GET", WS + r"/environments/(?P<name>[^/]+)")
def get_environment_container(d: Double, req: Request, ws: Workspace, name: str):
    items = _env_versions(d, ws, name)
    if not items:
        raise not_found("Environment", ws, name)
    return 200, {
        "id": f"{ws.arm_id}/environments/{name}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/environments",
        "properties": {"latestVersion": items[0]["name"], "nextVersion": str(len(items) + 1), "isArchived": False},
        "systemData": items[-1]["systemData"],
    }


@router.route("GET", WS + r"/environments")
def list_environments(d: Double, req: Request, ws: Workspace):
    with d.lock:
        names = sorted({n for (n, _) in ws.environments})
    return 200, {"value": [get_environment_container(d, req, ws, n)[1] for n in names]}
