"""The workspace's data: what ``azureml-fsspec`` (its Rust core, rslex) reads to reach a datastore's files, on
the double's Azurite-backed datastores (``routes_datastores.py``), and the data assets of azure-ai-ml.

rslex does not use the ARM datastore API of azure-ai-ml. It finds the workspace's service endpoint
(ARM workspace GET, then discovery: both served by ``routes_workspace.py``) and asks the legacy data-plane
datastore API, which answers the storage account, the container and a credential in one body::

    GET /datastore/v1.0{ws}/datastores/{name}         one datastore (v1 ``DataStore`` DTO); unknown -> 404

Its blob URL is ``{protocol}://{accountName}.blob.{endpoint}/{container}/{path}``, so the account name
that lands azure-ai-ml on the blob front does the same here; its writes are plain blob ``PUT``s there.

Data assets (ARM, relative to the workspace scope)::

    PUT  {ws}/data/{name}/versions/{version}          create (201) / same again (200); another dataUri -> 400
    GET  {ws}/data/{name}/versions/{version}          one version; unknown -> 404
    GET  {ws}/data/{name}[/versions], GET {ws}/data   the container (latestVersion, nextVersion) and lists
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routes_assets import put_asset_version
from tests.azureml_double.routes_datastores import datastore_body, list_datastore_secrets
from tests.azureml_double.routing import PROVIDER, WS, router, user_error_404
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


@router.route("GET", r"/datastore/v1\.0" + WS + r"/datastores/(?P<name>[^/]+)")
def get_datastore_v1(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, dict[str, Any]]:
    arm = datastore_body(d, ws, name)["properties"]  # 404 for an unknown datastore
    sas = list_datastore_secrets(d, req, ws, name)[1]["sasToken"].lstrip("?")
    return 200, {
        "name": name.lower(),
        "dataStoreType": "AzureBlob",
        "hasBeenValidated": True,
        "isDefault": arm["isDefault"],
        "azureStorageSection": {
            "accountName": arm["accountName"],
            "containerName": arm["containerName"],
            "endpoint": arm["endpoint"],
            "protocol": arm["protocol"],
            "credentialType": "Sas",
            "credential": sas,
            "sasToken": sas,
            "accountKey": None,
            "isSas": True,
            "clientCredentials": None,
            "blobCacheTimeout": 0,
            "areWorkspaceManagedIdentitiesAllowed": False,
            "subscriptionId": ws.subscription_id,
            "resourceGroup": ws.resource_group,
            "serviceDataAccessAuthIdentity": "None",
        },
    }


# rslex parses ``https://127.0.0.1:P/_blob/<account>.blob.core.windows.net/<container>/<path>`` as container
# ``_blob`` holding blob ``<account>.blob.core.windows.net/<container>/<path>``: a listing of that "container"
# is one of the real container, with the names carried back into that shape.
_HOST_SUFFIX = ".blob.core.windows.net"


@router.route("GET", r"/_blob/?", auth=False)
def list_through_blob_front(d: Double, req: Request) -> tuple[int, bytes, dict[str, str]]:
    import re
    import urllib.parse

    query = dict(req.query)
    host, _, rest = query.get("prefix", "").partition("/")
    container, _, prefix = rest.partition("/")
    if query.get("comp") != "list" or not host.endswith(_HOST_SUFFIX) or not container:
        raise HttpError(400, "InvalidQueryParameterValue", "azureml double: only listings under one container")
    account = host.removesuffix(_HOST_SUFFIX)
    query["prefix"] = prefix
    target = urllib.parse.quote(f"/{account}/{container}") + "?" + urllib.parse.urlencode(query)
    status, body, headers = d.compute.storage.forward("GET", target, b"", req.headers)
    outer = f"{host}/{container}/".encode()
    body = re.sub(
        rb"<(Name|Prefix|NextMarker)>([^<]*)</\1>", lambda m: b"<%s>%s%s</%s>" % (m[1], outer, m[2], m[1]), body
    )
    return status, body, headers


# ========================================================================================= data assets
# ARM data assets, as azure-ai-ml's ``data.get`` / ``data.create_or_update`` / ``data.list`` call them (the
# ``data_containers`` and ``data_versions`` operations of its ``_restclient``; shapes from the REST API
# examples ``Workspace/DataVersionBase/get.json`` and ``createOrUpdate.json``). A version is immutable: a PUT
# that changes an existing version's ``dataUri`` is refused, as the service refuses it.

DATA_TYPES = ("uri_file", "uri_folder", "mltable")


def _data_not_found(ws: Workspace, what: str) -> HttpError:
    return user_error_404(
        f"Data {what} not found in workspace {ws.name}.", f"Could not find asset with ID: {ws.arm_id}/data/{what}"
    )


def _data_versions(d: Double, ws: Workspace, name: str) -> list[dict[str, Any]]:
    with d.lock:
        items = [item for (n, _), item in ws.data.items() if n == name.lower()]
    return sorted(items, key=lambda item: item["systemData"]["createdAt"])


@router.route("PUT", WS + r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def put_data_version(d: Double, req: Request, ws: Workspace, name: str, version: str) -> tuple[int, dict[str, Any]]:
    props = dict((req.json() or {}).get("properties") or {})
    if props.get("dataType") not in DATA_TYPES:
        raise HttpError(400, "UserError", f"dataType must be one of {', '.join(DATA_TYPES)}")
    if not props.get("dataUri"):
        raise HttpError(400, "UserError", "dataUri is required")
    with d.lock:
        existing = ws.data.get((name.lower(), version))
    if existing is not None and existing["properties"]["dataUri"] != props["dataUri"]:
        raise HttpError(
            400, "UserError", f"Data {name}:{version} already exists with another path; a version is immutable"
        )
    return put_asset_version(d, req, ws, "data", ws.data, name, version, {"isAnonymous": False, "stage": None})


@router.route("GET", WS + r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
def get_data_version(d: Double, req: Request, ws: Workspace, name: str, version: str) -> tuple[int, dict[str, Any]]:
    with d.lock:
        item = ws.data.get((name.lower(), version))
    if item is None:
        raise _data_not_found(ws, f"{name}/versions/{version}")
    return 200, item


@router.route("GET", WS + r"/data/(?P<name>[^/]+)/versions")
def list_data_versions(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, dict[str, Any]]:
    return 200, {"value": list(reversed(_data_versions(d, ws, name)))}


@router.route("GET", WS + r"/data/(?P<name>[^/]+)")
def get_data_container(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, dict[str, Any]]:
    """``latestVersion`` is the most recently created (what ``data.get(name, label="latest")`` reads)."""
    items = _data_versions(d, ws, name)
    if not items:
        raise _data_not_found(ws, name)
    latest = items[-1]
    numbers = [int(item["name"]) for item in items if item["name"].isdigit()]
    return 200, {
        "id": f"{ws.arm_id}/data/{name}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/data",
        "properties": {
            "dataType": latest["properties"]["dataType"],
            "latestVersion": latest["name"],
            "nextVersion": str(max(numbers, default=0) + 1),
            "isArchived": False,
            "description": None,
            "tags": {},
            "properties": {},
        },
        "systemData": items[0]["systemData"],
    }


@router.route("GET", WS + r"/data")
def list_data(d: Double, req: Request, ws: Workspace) -> tuple[int, dict[str, Any]]:
    with d.lock:
        names = sorted({n for (n, _) in ws.data})
    return 200, {"value": [get_data_container(d, req, ws, n)[1] for n in names]}
