"""Datastores of the double's workspaces, backed by Azurite, and what ``jobs.stream`` / ``jobs.download`` read.

Every workspace has the two datastores Azure ML creates with it (shapes as recorded from the live service:
source [2] of ``tests/test_double_conformance.py``, which checks them):

- ``workspaceblobstore`` (the default): container ``azureml-blobstore-<workspace id>``;
- ``workspaceartifactstore``: container ``azureml``, where run history keeps each run's files under
  ``ExperimentRun/dcid.<run>/`` (``user_logs/std_log.txt``, ``outputs/``...). The double's artifact routes
  (azureml-mlflow) already write there.

Routes (relative to the workspace scope)::

    GET  {ws}/datastores[?isDefault=true]             list (``datastores.list``, ``datastores.get_default``)
    GET  {ws}/datastores/{name}                       one datastore; unknown -> 404
    POST {ws}/datastores/{name}/listSecrets           an account SAS for Azurite, like Azure's expirable secret
    POST /history/v1.0/{ws}/rundata                   run metadata (``jobs.download`` asks it for named outputs)

Storage host names: the SDK builds a datastore's URL as ``https://{accountName}.blob.{cloud storage suffix}``
(``core.windows.net`` for ``AzureCloud``). The double names the account ``127.0.0.1:<port>/_blob/devstoreaccount1``
so that URL is ``https://127.0.0.1:<port>/_blob/devstoreaccount1.blob.core.windows.net``: the control plane's
HTTPS front for Azurite. Nothing else differs from a real account (the SAS is checked by Azurite).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tests.azureml_double._http import Request
from tests.azureml_double.artifact_store import ARTIFACT_STORE, ARTIFACT_STORE_CONTAINER, BLOB_STORE
from tests.azureml_double.routing import HISTORY, PROVIDER, WS, router, user_error_404, utcnow
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double

SECRET_HOURS = 1  # the SDK asks for {"expirableSecret": true, "expireAfterHours": 1}


def container_of(ws: Workspace, name: str) -> str | None:
    """The Azurite container behind a workspace datastore, None for an unknown name."""
    containers = {ARTIFACT_STORE: ARTIFACT_STORE_CONTAINER, BLOB_STORE: f"azureml-blobstore-{ws.workspace_id}"}
    return containers.get(name.lower())


def account_name(d: Double) -> str:
    """See the module docstring: the SDK's ``https://{account}.blob.<suffix>`` then lands on the blob front."""
    from tests.azureml_double.storage import AZURITE_ACCOUNT

    return f"{d.host}/_blob/{AZURITE_ACCOUNT}"


def datastore_body(d: Double, ws: Workspace, name: str) -> dict[str, Any]:
    container = container_of(ws, name)
    if container is None:
        raise user_error_404(
            f"Datastore {name} not found in workspace {ws.name}.",
            f"Could not find datastore with name: {name}",
        )
    d.compute.storage.ensure_container(container)
    canonical = name.lower()
    return {
        "id": f"{ws.arm_id}/datastores/{canonical}",
        "name": canonical,
        "type": f"{PROVIDER}/workspaces/datastores",
        "properties": {
            "description": None,
            "tags": None,
            "properties": None,
            "isDefault": canonical == BLOB_STORE,
            "credentials": {"credentialsType": "AccountKey"},
            "subscriptionId": ws.subscription_id,
            "resourceGroup": ws.resource_group,
            "datastoreType": "AzureBlob",
            "accountName": account_name(d),
            "containerName": container,
            "endpoint": "core.windows.net",
            "protocol": "https",
            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
        },
        "systemData": {
            "createdAt": "2024-01-01T00:00:00+00:00",
            "lastModifiedAt": "2024-01-01T00:00:00+00:00",
            "lastModifiedBy": "double@example.invalid",
            "lastModifiedByType": "Application",
        },
    }


@router.route("GET", WS + r"/datastores")
def list_datastores(d: Double, req: Request, ws: Workspace) -> tuple[int, dict[str, Any]]:
    items = [datastore_body(d, ws, name) for name in (ARTIFACT_STORE, BLOB_STORE)]
    if req.query.get("isDefault", "").lower() == "true":
        items = [item for item in items if item["properties"]["isDefault"]]
    return 200, {"value": items}


@router.route("GET", WS + r"/datastores/(?P<name>[^/]+)")
def get_datastore(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, dict[str, Any]]:
    return 200, datastore_body(d, ws, name)


@router.route("POST", WS + r"/datastores/(?P<name>[^/]+)/listSecrets")
def list_datastore_secrets(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, dict[str, Any]]:
    """Azure answers an expirable secret as an account SAS (``ss=bf&srt=co&sp=rcuwdl``), prefixed with ``?``."""
    datastore_body(d, ws, name)  # 404 for an unknown datastore
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    from tests.azureml_double.storage import AZURITE_ACCOUNT, AZURITE_KEY

    now = utcnow()
    sas = generate_account_sas(
        AZURITE_ACCOUNT,
        AZURITE_KEY,
        ResourceTypes(container=True, object=True),
        AccountSasPermissions(read=True, create=True, update=True, write=True, delete=True, list=True),
        expiry=now + timedelta(hours=SECRET_HOURS),
        start=now - timedelta(minutes=5),
    )
    return 200, {"secretsType": "Sas", "sasToken": f"?{sas}"}


@router.route("POST", HISTORY + r"/rundata")
def run_data(d: Double, req: Request, ws: Workspace) -> tuple[int, dict[str, Any]]:
    """Run metadata; a command job's ``default`` output is not among its run ``outputs`` (the SDK adds it)."""
    run_id = str((req.json() or {}).get("runId") or "")
    job = ws.jobs.get(run_id)
    if job is None:
        raise user_error_404(f"Run {run_id} was not found", f"Run {run_id} was not found")
    details = job.run_details(d.base_url)
    return 200, {"runMetadata": {**details, "outputs": {}}}
