"""What ``azureml-fsspec`` (its Rust core, rslex) reads to reach a datastore's files, on the double's
Azurite-backed datastores (``routes_datastores.py``).

rslex does not use the ARM datastore API of azure-ai-ml. It finds the workspace's service endpoint
(ARM workspace GET, then discovery: both served by ``server.py``) and asks the legacy data-plane
datastore API, which answers the storage account, the container and a credential in one body::

    GET /datastore/v1.0{ws}/datastores/{name}         one datastore (v1 ``DataStore`` DTO); unknown -> 404

Its blob URL is ``{protocol}://{accountName}.blob.{endpoint}/{container}/{path}``, so the account name
that lands azure-ai-ml on the blob front does the same here.
"""

from __future__ import annotations

from typing import Any

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routes_datastores import datastore_body, list_datastore_secrets
from tests.azureml_double.server import WS, Double, Workspace, router


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
