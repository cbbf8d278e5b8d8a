"""The fake Azure ML control plane (ARM / MFE, discovery, run history, identity, MLflow proxy).

Run as a separate process by :mod:`tests.azureml_double.launcher`::

    python -m tests.azureml_double <config.json>

(not ``-m ...server``: route modules register on this module's ``router``, not on a ``__main__`` copy).

It binds ``127.0.0.1`` (port from the config, 0 = any free one), writes ``{"port": N}`` to the config's
``ready_file`` and serves until SIGTERM. All state lives in memory in this process.

Adding an endpoint: write a function ``def my_endpoint(req, ws, name): ... return 200, {...}`` and register it
with ``@router.route("GET", WS + r"/things/(?P<name>[^/]+)")``. ``WS`` matches the workspace ARM scope and the
dispatcher resolves ``ws`` (a :class:`Workspace`) from it, answering Azure's 404 for unknown workspaces.
Raise ``HttpError(404, "ResourceNotFound", "...")`` for Azure-shaped errors. Every request is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tests.azureml_double import token_expiry
from tests.azureml_double._http import App, HttpError, Request, Router, azure_error, serve_tls

PROVIDER = "Microsoft.MachineLearningServices"
# Path prefixes are matched case-insensitively (ARM is case-insensitive) by the router.
WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws_name>[^/]+)"
)
HISTORY = r"/history/v1\.0" + WS
MLFLOW = r"/mlflow/v2\.0" + WS
MFE_PREFIX = "/mferp/managementfrontend"

router = Router()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def mint_jwt(audience: str, tenant_id: str, lifetime: int = 3600, **claims: Any) -> tuple[str, int]:
    """An *unsigned* JWT (alg none) whose ``aud`` is ``audience``; returns (token, expires_on)."""
    from tests.azureml_double.credentials import unsigned_jwt

    return unsigned_jwt(audience, tenant_id, lifetime, **claims)


def scope_to_resource(scope: str) -> str:
    scope = scope.split(maxsplit=1)[0] if scope else ""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def jwt_audience(token: str | None) -> str | None:
    if not token or token.count(".") != 2:
        return None
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))).get("aud")
    except Exception:  # noqa: BLE001 - opaque tokens are fine
        return None


# --------------------------------------------------------------------------------------------------- state


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


class Faults:
    """Fault injection state. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.http: list[dict] = []
        self.mlflow_down_until: float | None = None  # monotonic deadline, inf = until cleared
        self.mlflow_down_mode = "503"
        self.fail_next_jobs = 0
        self.fail_next_jobs_message = "Injected failure (azureml double fault: fail_next_job)"

    def clear(self) -> None:
        with self.lock:
            self.http.clear()
            self.mlflow_down_until = None
            self.fail_next_jobs = 0

    def snapshot(self) -> dict:
        with self.lock:
            down = None
            if self.mlflow_down_until is not None:
                left = self.mlflow_down_until - time.monotonic()
                down = None if left <= 0 else ("forever" if left == float("inf") else round(left, 3))
            return {
                "http": [dict(f, regex=f["regex"].pattern) for f in self.http],
                "mlflow_down_seconds_left": down,
                "mlflow_down_mode": self.mlflow_down_mode,
                "fail_next_jobs": self.fail_next_jobs,
            }

    def add(self, spec: dict) -> dict:
        kind = spec.get("kind")
        with self.lock:
            if kind == "http":
                fault = {
                    "method": (spec.get("method") or "*").upper(),
                    "regex": re.compile(spec["path"]),
                    "status": int(spec.get("status", 429)),
                    "count": int(spec.get("count", 1)),
                    "retry_after": spec.get("retry_after"),
                    "hits": 0,
                }
                self.http.append(fault)
                return {"kind": kind, "path": spec["path"], "count": fault["count"]}
            if kind == "mlflow_down":
                seconds = spec.get("seconds")
                self.mlflow_down_until = time.monotonic() + float(seconds) if seconds else float("inf")
                self.mlflow_down_mode = spec.get("mode", "503")
                return {"kind": kind, "seconds": seconds, "mode": self.mlflow_down_mode}
            if kind == "fail_next_job":
                self.fail_next_jobs += int(spec.get("count", 1))
                if spec.get("message"):
                    self.fail_next_jobs_message = spec["message"]
                return {"kind": kind, "count": self.fail_next_jobs}
        raise HttpError(400, "BadRequest", f"unknown fault kind {kind!r}")

    def http_fault_for(self, method: str, target: str) -> dict | None:
        with self.lock:
            for fault in self.http:
                if fault["count"] <= 0:
                    continue
                if fault["method"] not in ("*", method):
                    continue
                path = target.split("?", 1)[0]
                if fault["regex"].search(path) or fault["regex"].search(target):
                    fault["count"] -= 1
                    fault["hits"] += 1
                    return dict(fault)
        return None

    def mlflow_down(self) -> str | None:
        with self.lock:
            if self.mlflow_down_until is None:
                return None
            if time.monotonic() >= self.mlflow_down_until:
                self.mlflow_down_until = None
                return None
            return self.mlflow_down_mode

    def take_job_failure(self) -> str | None:
        with self.lock:
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                return self.fail_next_jobs_message
        return None


# record_bodies: keep each request's headers and body in the request log (to search what was sent).
DEFAULT_SETTINGS = {"azure_limits": True, "record_bodies": False, **token_expiry.DEFAULTS}


class Double(App):
    def __init__(self, config: dict) -> None:
        self.config = config
        self.settings = dict(DEFAULT_SETTINGS)
        self.tenant_id = config["tenant_id"]
        self.lock = threading.RLock()
        self.faults = Faults()
        self.requests: list[dict] = []
        self.seq = itertools.count(1)
        self.workspaces: dict[tuple[str, str, str], Workspace] = {}
        for ws in config["workspaces"]:
            w = Workspace(
                subscription_id=ws["subscription_id"],
                resource_group=ws["resource_group"],
                name=ws["name"],
                location=ws.get("location", "eastus"),
                workspace_id=ws.get("workspace_id") or str(uuid.uuid4()),
                computes={c["name"].lower(): c for c in ws.get("computes", [])},
            )
            self.workspaces[(w.subscription_id.lower(), w.resource_group.lower(), w.name.lower())] = w
        from tests.azureml_double.compute import EmulatedCompute

        self.compute = EmulatedCompute(self)

    # ------------------------------------------------------------------ helpers
    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    def tracking_uri(self, ws: Workspace) -> str:
        return f"azureml://{self.host}/mlflow/v2.0{ws.scope}"

    def find_workspace(self, sub: str, rg: str, name: str) -> Workspace:
        ws = self.workspaces.get((sub.lower(), rg.lower(), name.lower()))
        if ws is None:
            message = (
                f"The Resource '{PROVIDER}/workspaces/{name}' under resource group '{rg}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            )
            # ARM's gateway answers this one: only code and message (source [4] of tests/test_double_conformance.py).
            raise HttpError(
                404,
                "ResourceNotFound",
                message,
                body={"error": {"code": "ResourceNotFound", "message": message}},
                headers={"x-ms-failure-cause": "gateway"},
            )
        return ws

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, req: Request) -> tuple[int, Any, dict]:
        req.context["request_id"] = str(uuid.uuid4())
        req.context["seq"] = next(self.seq)
        req.context["started"] = time.time()
        path = req.path
        if path.lower().startswith(MFE_PREFIX):
            path = path[len(MFE_PREFIX) :] or "/"
            req.path = path
        is_test_endpoint = path.startswith("/_double/")
        req.context["test_endpoint"] = is_test_endpoint
        try:
            if not is_test_endpoint:
                target = path + ("?" + "&".join(f"{k}={v}" for k, v in req.query.items()) if req.query else "")
                fault = self.faults.http_fault_for(req.method, target)
                if fault is not None:
                    req.context["fault"] = f"http {fault['status']}"
                    headers = {}
                    if fault.get("retry_after") is not None:
                        headers["Retry-After"] = str(fault["retry_after"])
                    code = "TooManyRequests" if fault["status"] == 429 else "InternalServerError"
                    return fault["status"], azure_error(code, f"Injected fault ({fault['status']})"), headers
            handler, groups, options = router.match(req.method, path)
            if handler is None:
                if options:  # path known, method not
                    raise HttpError(405, "MethodNotAllowed", f"{req.method} not allowed on {path}")
                raise HttpError(404, "NotFound", f"azureml double: no route for {req.method} {path}")
            if options.get("auth", True) and not req.bearer:
                raise HttpError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                    headers={"WWW-Authenticate": f'Bearer authorization_uri="{self.base_url}/{self.tenant_id}"'},
                )
            if options.get("auth", True):
                token_expiry.refuse_if_expired(self.settings, req.bearer, f"{self.base_url}/{self.tenant_id}")
            kwargs = dict(groups)
            if "ws_name" in kwargs:
                kwargs["ws"] = self.find_workspace(kwargs.pop("sub"), kwargs.pop("rg"), kwargs.pop("ws_name"))
            result = handler(self, req, **kwargs)
        except HttpError as e:
            return e.status, e.body, dict(e.headers)
        except Exception as e:  # noqa: BLE001 - report as a 500 like Azure would
            import traceback

            traceback.print_exc()
            return 500, azure_error("InternalServerError", f"azureml double crashed: {e!r}"), {}
        if len(result) == 2:
            status, body = result
            headers = {}
        else:
            status, body, headers = result
        return status, body, dict(headers)

    def on_response(self, req: Request, status: int, elapsed: float) -> None:
        if req.context.get("test_endpoint"):
            return
        entry = {
            "seq": req.context.get("seq"),
            "time": req.context.get("started"),
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "request_bytes": len(req.body),
            "aud": jwt_audience(req.bearer),
            "token_exp": token_expiry.token_exp(req.bearer),
        }
        if self.settings.get("record_bodies"):
            entry["headers"] = dict(req.headers.items())
            entry["body"] = req.body.decode("utf-8", errors="replace")
        if "fault" in req.context:
            entry["fault"] = req.context["fault"]
        with self.lock:
            self.requests.append(entry)


# ========================================================================================= identity
# Token endpoints so real azure-identity credentials can be pointed at the double with env vars only.


@router.route("GET", r"/metadata/endpoints", auth=False)
def cloud_metadata(d: Double, req: Request):
    """ARM cloud metadata (``ARM_CLOUD_METADATA_URL``) describing a cloud whose every endpoint is the double."""
    base = d.base_url
    cloud = {
        "name": d.config.get("cloud_name", "AzureMLDouble"),
        "portal": "https://portal.azure.com",  # only used to derive domain suffixes
        "resourceManager": base + "/",
        "authentication": {
            "loginEndpoint": base + "/",
            "audiences": [base + "/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {"storage": "core.windows.net", "acrLoginServer": "azurecr.io", "keyVaultDns": "vault.azure.net"},
        "gallery": base + "/",
        "graph": base + "/",
        "graphAudience": base + "/",
        "media": base + "/",
        "sqlManagement": base + "/",
        "batch": base + "/",
        "activeDirectoryDataLake": base + "/",
        "microsoftGraphResourceId": base + "/",
        "appInsightsResourceId": base + "/",
        "appInsightsTelemetryChannelResourceId": base + "/",
        "attestationResourceId": base + "/",
        "synapseAnalyticsResourceId": base + "/",
        "logAnalyticsResourceId": base + "/",
        "ossrDbmsResourceId": base + "/",
    }
    return 200, [cloud]


@router.route("GET", r"/(?P<tenant>[^/_][^/]*)(?P<v2>/v2\.0)?/\.well-known/openid-configuration", auth=False)
def openid_configuration(d: Double, req: Request, tenant: str, v2: str | None):
    """OIDC discovery MSAL reads (``/{tenant}/v2.0/...``; ADFS-style ``/adfs/...`` without ``/v2.0``)."""
    base = f"{d.base_url}/{tenant}"
    return 200, {
        "issuer": f"{d.base_url}/{tenant}{v2 or ''}",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "NA",
    }


@router.route("GET", r"/common/discovery/instance", auth=False)
def instance_discovery(d: Double, req: Request):
    tenant = d.tenant_id
    return 200, {
        "tenant_discovery_endpoint": f"{d.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": d.host, "preferred_cache": d.host, "aliases": [d.host]}],
    }


@router.route("POST", r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/token", auth=False)
def oauth_token(d: Double, req: Request, tenant: str):
    import urllib.parse

    form = dict(urllib.parse.parse_qsl(req.body.decode("utf-8")))
    grant = form.get("grant_type")
    if grant not in (
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "password",
        "authorization_code",
    ):
        return 400, {"error": "unsupported_grant_type", "error_description": f"AADSTS70003: grant {grant!r}"}
    if grant == "client_credentials" and not (form.get("client_secret") or form.get("client_assertion")):
        return 401, {"error": "invalid_client", "error_description": "AADSTS7000216: client secret missing"}
    resource = scope_to_resource(form.get("scope", ""))
    lifetime = token_expiry.lifetime(d.settings)
    token, _ = mint_jwt(
        resource,
        tenant if tenant not in ("common", "organizations", "adfs") else d.tenant_id,
        lifetime,
        appid=form.get("client_id", ""),
    )
    return 200, {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
        "scope": form.get("scope", ""),
    }


@router.route("GET", r"/_identity/msi/token", auth=False)
def managed_identity_token(d: Double, req: Request):
    """Managed identity token endpoint: Azure ML compute flavour (``MSI_ENDPOINT``/``MSI_SECRET``, header
    ``secret``) and App Service flavour (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``, header ``X-IDENTITY-HEADER``)."""
    secret = req.headers.get("secret") or req.headers.get("X-IDENTITY-HEADER")
    if secret != d.config["msi_secret"]:
        return 401, {"error": "invalid_request", "error_description": "missing or wrong managed identity secret"}
    resource = req.query.get("resource", "")
    lifetime = token_expiry.lifetime(d.settings)
    token, exp = mint_jwt(scope_to_resource(resource), d.tenant_id, lifetime)
    return 200, {
        "access_token": token,
        "expires_on": str(exp),
        "expires_in": str(lifetime),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": req.query.get("clientid") or req.query.get("client_id") or "00000000-0000-0000-0000-00000000a991",
    }


# ========================================================================================= workspace


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


# ========================================================================================= computes


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


# ========================================================================================= code assets


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


def user_error_404(message: str, detail: str) -> HttpError:
    """The 404 Azure ML's management front end answers for a missing asset or job (source [5] of
    ``tests/test_double_conformance.py``)."""
    return HttpError(
        404,
        "UserError",
        message,
        body=azure_error(
            "UserError", detail, additionalInfo=[{"type": "ComponentName", "info": {"value": "managementfrontend"}}]
        ),
        headers={"x-ms-response-type": "error"},
    )


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


# ========================================================================================= jobs


@router.route("PUT", WS + r"/jobs/(?P<name>[^/]+)")
def put_job(d: Double, req: Request, ws: Workspace, name: str):
    body = req.json() or {}
    job, created = d.compute.submit(ws, name, body)
    return (201 if created else 200), job.to_rest()


@router.route("GET", WS + r"/jobs/(?P<name>[^/]+)")
def get_job(d: Double, req: Request, ws: Workspace, name: str):
    job = ws.jobs.get(name)
    if job is None:
        raise user_error_404(f"Job {name} not found.", f"The specified resource name '{name}' was not found.")
    return 200, job.to_rest()


@router.route("GET", WS + r"/jobs")
def list_jobs(d: Double, req: Request, ws: Workspace):
    jobs = sorted(ws.jobs.values(), key=lambda j: j.created, reverse=True)
    return 200, {"value": [j.to_rest() for j in jobs]}


@router.route("POST", WS + r"/jobs/(?P<name>[^/]+)/cancel")
def cancel_job(d: Double, req: Request, ws: Workspace, name: str):
    """Like Azure: an ended job answers 200 with nothing to poll; otherwise 202 and a subscription-scoped
    operation, without ``Retry-After`` (the SDK then polls every 30 s unless told otherwise)."""
    job = ws.jobs.get(name)
    if job is None:
        get_job(d, req, ws, name)  # raises the 404
    if job.ended:
        return 200, None
    d.compute.cancel(job)
    return 202, b"null", {"Location": _cancel_operation_url(d, ws, name), "x-ms-async-operation-timeout": "PT1H"}


def _cancel_operation_url(d: Double, ws: Workspace, name: str) -> str:
    return (
        f"{d.base_url}/subscriptions/{ws.subscription_id}/providers/{PROVIDER}/locations/{ws.location}"
        f"/mfeOperationResults/jc:{ws.workspace_id}:{name}?api-version=2023-04-01-preview"
    )


@router.route(
    "GET",
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices"
    r"/locations/(?P<loc>[^/]+)/mfeOperationResults/jc:(?P<wsid>[^:/]+):(?P<name>[^/]+)",
)
def cancel_operation(d: Double, req: Request, sub: str, loc: str, wsid: str, name: str):
    ws = next((w for w in d.workspaces.values() if w.workspace_id == wsid), None)
    job = ws.jobs.get(name) if ws is not None else None
    if job is None:
        raise HttpError(404, "NotFound", f"operation jc:{wsid}:{name} not found")
    if job.ended:
        return 200, None
    url = _cancel_operation_url(d, ws, name)
    return 202, {}, {"Location": url, "Azure-AsyncOperation": url}


# ========================================================================================= run history


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)/details")
def run_details(d: Double, req: Request, ws: Workspace, run_id: str):
    job = ws.jobs.get(run_id)
    if job is None:
        raise HttpError(
            404,
            "UserError",
            f"Run {run_id} was not found",
            body=azure_error("UserError", f"Run {run_id} was not found", innerError={"code": "NotFound"}),
        )
    return 200, job.run_details(d.base_url)


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)")
def run_get(d: Double, req: Request, ws: Workspace, run_id: str):
    details = run_details(d, req, ws, run_id)[1]
    return 200, {
        k: details[k]
        for k in ("runId", "status", "startTimeUtc", "endTimeUtc", "target", "tags", "properties", "createdTimeUtc")
    }


@router.route("GET", r"/_logs/(?P<wsid>[^/]+)/(?P<run_id>[^/]+)/(?P<log>.+)", auth=False)
def log_file(d: Double, req: Request, wsid: str, run_id: str, log: str):
    if req.query.get("sig") != d.config["log_sig"]:
        return 403, "<Error><Code>AuthenticationFailed</Code></Error>", {"Content-Type": "application/xml"}
    for ws in d.workspaces.values():
        if ws.workspace_id == wsid and run_id in ws.jobs:
            job = ws.jobs[run_id]
            text = job.read_log(log)
            if text is None:
                break
            return 200, text.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"}
    return 404, "<Error><Code>BlobNotFound</Code></Error>", {"Content-Type": "application/xml"}


# ========================================================================================= mlflow proxy


@router.route("*", MLFLOW + r"(?P<rest>/api/2\.0/mlflow(?:-artifacts)?/.*|/ajax-api/.*)")
def mlflow_proxy(d: Double, req: Request, ws: Workspace, rest: str):
    mode = d.faults.mlflow_down()
    if mode == "reset":
        req.context["fault"] = "mlflow down (reset)"
        return -1, None, {}
    if mode is not None:
        req.context["fault"] = "mlflow down (503)"
        raise HttpError(
            503,
            "ServiceUnavailable",
            "The MLflow tracking service is unavailable (injected fault).",
            headers={"Retry-After": "1"},
        )
    import urllib.parse

    if d.settings.get("azure_limits", True):
        _enforce_azure_mlflow_limits(d, req, rest)
    target = urllib.parse.quote(rest) + ("?" + urllib.parse.urlencode(req.query) if req.query else "")
    status, body, headers = d.compute.mlflow.raw(req.method, target, req.body, req.headers.get("Content-Type"))
    if body and b"mlflow-artifacts:/" in body:
        body = _azureml_artifact_uris(d, ws, body)
    return status, body, headers


def _azureml_artifact_uris(d: Double, ws: Workspace, body: bytes) -> bytes:
    """Present artifact locations the way Azure ML does (``azureml://.../experiments/<e>/runs/<r>/artifacts``)
    so azureml-mlflow's artifact repository (run history artifact API + blob SAS URIs) handles them."""
    prefix = f"azureml://{d.host}/mlflow/v2.0{ws.scope}/experiments/"
    text = body.decode("utf-8")
    text = re.sub(
        r"mlflow-artifacts:/+(\d+)/([^/\"]+)/artifacts", lambda m: f"{prefix}{m[1]}/runs/{m[2]}/artifacts", text
    )
    text = re.sub(r"mlflow-artifacts:/+(\d+)(?=\")", lambda m: f"{prefix}{m[1]}", text)
    return text.encode("utf-8")


# ========================================================================================= run artifacts
# azureml-mlflow's artifact repository: run history's artifact API hands out SAS URIs into blob storage
# (Azurite, container "azureml", blobs "ExperimentRun/dcid.<run>/<path>"). The listing is the blob listing.

ARTIFACTS = HISTORY + r"/(?:experiments|experimentids)/(?P<exp>[^/]+)/runs/(?P<run>[^/]+)/artifacts"
ARTIFACT_CONTAINER = "azureml"


def _artifact_blob(run: str, path: str) -> str:
    return f"ExperimentRun/dcid.{run}/{path.lstrip('/')}"


def _artifact_dto(run: str, path: str, created: str | None = None) -> dict:
    return {
        "artifactId": f"ExperimentRun/dcid.{run}/{path}",
        "origin": "ExperimentRun",
        "container": f"dcid.{run}",
        "path": path,
        "etag": None,
        "createdTime": created,
        "tags": {},
    }


def _content_info(d: Double, run: str, path: str) -> dict:
    return {
        "contentUri": d.compute.storage.https_blob_sas_url(d.base_url, ARTIFACT_CONTAINER, _artifact_blob(run, path)),
        "origin": "ExperimentRun",
        "container": f"dcid.{run}",
        "path": path,
        "tags": {},
    }


def _list_artifacts(d: Double, run: str, prefix: str = "") -> list[dict]:
    base = _artifact_blob(run, "")
    cc = d.compute.storage.service.get_container_client(ARTIFACT_CONTAINER)
    if not cc.exists():
        return []
    out = []
    for blob in cc.list_blobs(name_starts_with=base + prefix.lstrip("/")):
        created = blob.creation_time.isoformat() if blob.creation_time else None
        out.append(_artifact_dto(run, blob.name[len(base) :], created))
    return out


@router.route("POST", ARTIFACTS + r"/batch/metadata")
def artifacts_batch_create(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    d.compute.storage.ensure_container(ARTIFACT_CONTAINER)
    paths = [p["path"] for p in (req.json() or {}).get("paths", [])]
    return 200, {
        "artifacts": {p: _artifact_dto(run, p, iso(utcnow())) for p in paths},
        "artifactContentInformation": {p: _content_info(d, run, p) for p in paths},
        "errors": {},
    }


@router.route("GET", ARTIFACTS + r"(?:/path)?")
def artifacts_list(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    return 200, {
        "value": _list_artifacts(d, run, req.query.get("path", "")),
        "continuationToken": None,
        "nextLink": None,
    }


@router.route("GET", ARTIFACTS + r"/(?P<what>contentinfo|metadata|artifacturi)")
def artifacts_content_info(d: Double, req: Request, ws: Workspace, exp: str, run: str, what: str):
    path = req.query.get("path", "")
    if not any(a["path"] == path for a in _list_artifacts(d, run, path)):
        raise HttpError(
            404,
            "UserError",
            f"Artifact {path} not found in run {run}",
            body=azure_error(
                "UserError", f"Could not find artifact '{path}' of run {run}", innerError={"code": "NotFound"}
            ),
        )
    if what == "metadata":
        return 200, _artifact_dto(run, path)
    if what == "artifacturi":
        return 200, {"uri": _content_info(d, run, path)["contentUri"]}
    return 200, _content_info(d, run, path)


@router.route("GET", ARTIFACTS + r"/prefix/contentinfo")
def artifacts_prefix_content_info(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    items = _list_artifacts(d, run, req.query.get("path", ""))
    return 200, {
        "value": [_content_info(d, run, a["path"]) for a in items],
        "continuationToken": None,
        "nextLink": None,
    }


# ========================================================================================= blob front
# Azure SDKs recognise storage URLs by shape (``https://<account>.blob.core.windows.net/...``). This HTTPS front
# serves ``https://127.0.0.1:P/_blob/<account>.blob.core.windows.net/<container>/<blob>?<sas>`` by forwarding to
# Azurite (``http://127.0.0.1:A/<account>/<container>/<blob>?<sas>``); the SAS decides, not the bearer.


@router.route("*", r"/_blob/(?P<account>[^/.]+)\.blob\.core\.windows\.net(?P<rest>/.*)?", auth=False)
def blob_front(d: Double, req: Request, account: str, rest: str | None):
    import urllib.parse

    target = urllib.parse.quote(f"/{account}{rest or '/'}") + (
        "?" + urllib.parse.urlencode(req.query) if req.query else ""
    )
    return d.compute.storage.forward(req.method, target, req.body, req.headers)


# Azure ML's MLflow service is stricter than open-source MLflow (see docs/architecture.md, "Azure ML's MLflow limits").
AZURE_MAX_METRICS_PER_REQUEST = 250
AZURE_MAX_PARAMS_PER_RUN = 200


def _mlflow_error(message: str, code: str = "INVALID_PARAMETER_VALUE", status: int = 400) -> HttpError:
    return HttpError(status, code, message, body={"error_code": code, "message": message})


def _enforce_azure_mlflow_limits(d: Double, req: Request, rest: str) -> None:
    endpoint = rest.split("/api/2.0/mlflow/", 1)[-1]
    if req.method not in ("POST", "PATCH") or not req.body:
        return
    try:
        body = req.json() or {}
    except ValueError:
        return
    if endpoint == "runs/log-batch":
        metrics = body.get("metrics") or []
        if len(metrics) > AZURE_MAX_METRICS_PER_REQUEST:
            raise _mlflow_error(
                f"A batch logging request can contain at most {AZURE_MAX_METRICS_PER_REQUEST} metrics; "
                f"got {len(metrics)} (Azure ML limit)"
            )
    if endpoint in ("runs/log-batch", "runs/log-parameter"):
        new = {p.get("key") for p in (body.get("params") or [])} if endpoint == "runs/log-batch" else {body.get("key")}
        new.discard(None)
        if new:
            run_id = body.get("run_id") or body.get("run_uuid")
            try:
                run = d.compute.mlflow.call("GET", "runs/get", query={"run_id": run_id})["run"]
                existing = {p["key"] for p in run.get("data", {}).get("params", [])}
            except Exception:  # noqa: BLE001 - let mlflow report a bad run id
                existing = set()
            total = len(existing | new)
            if total > AZURE_MAX_PARAMS_PER_RUN:
                raise _mlflow_error(
                    f"A run can have at most {AZURE_MAX_PARAMS_PER_RUN} parameters; this request would make "
                    f"{total} (Azure ML limit)"
                )
    if endpoint == "runs/search":
        for clause in body.get("order_by") or []:
            if re.match(r"\s*`?(metrics|params|parameters|tags|metric|param|tag)[.`]", str(clause), re.I):
                raise _mlflow_error(f"Ordering runs by metrics, params or tags is not supported: {clause!r}")
    if endpoint in ("runs/search", "experiments/search") and re.search(r"\sOR\s", str(body.get("filter") or ""), re.I):
        raise _mlflow_error("OR is not supported in search filters (Azure ML)")
    if endpoint == "experiments/update" and body.get("new_name"):
        raise _mlflow_error("Renaming experiments is not supported (Azure ML)", code="FEATURE_DISABLED")


# ========================================================================================= test-only


@router.route("GET", r"/_double/health", auth=False)
def health(d: Double, req: Request):
    return 200, {"ok": True, "pid": os.getpid()}


@router.route("GET", r"/_double/requests", auth=False)
def get_requests(d: Double, req: Request):
    since = int(req.query.get("since", 0))
    with d.lock:
        items = [r for r in d.requests if r["seq"] > since]
    return 200, {"requests": items}


@router.route("POST", r"/_double/reset", auth=False)
def reset(d: Double, req: Request):
    body = req.json() or {}
    with d.lock:
        d.requests.clear()
    d.faults.clear()
    d.settings = dict(DEFAULT_SETTINGS)
    if body.get("state"):
        d.compute.reset_state()
    return 200, {"ok": True}


@router.route("POST", r"/_double/settings", auth=False)
def update_settings(d: Double, req: Request):
    """Behaviour switches: ``azure_limits`` (enforce Azure ML's MLflow limits in the proxy, default on)."""
    body = req.json() or {}
    unknown = set(body) - set(DEFAULT_SETTINGS)
    if unknown:
        raise HttpError(400, "BadRequest", f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
    d.settings.update(body)
    return 200, dict(d.settings)


@router.route("GET", r"/_double/faults", auth=False)
def get_faults(d: Double, req: Request):
    return 200, d.faults.snapshot()


@router.route("POST", r"/_double/faults", auth=False)
def add_fault(d: Double, req: Request):
    return 200, d.faults.add(req.json() or {})


@router.route("DELETE", r"/_double/faults", auth=False)
def clear_faults(d: Double, req: Request):
    d.faults.clear()
    return 200, {"ok": True}


@router.route("POST", r"/_double/job-env", auth=False)
def set_job_env(d: Double, req: Request):
    """Base environment of emulated-compute jobs (the launcher posts ``client_env()`` + PATH once started)."""
    d.config["job_base_env"] = {str(k): str(v) for k, v in (req.json() or {}).items()}
    return 200, {"ok": True}


@router.route("GET", r"/_double/jobs", auth=False)
def double_jobs(d: Double, req: Request):
    out = []
    for ws in d.workspaces.values():
        out.extend(j.internal() for j in ws.jobs.values())
    return 200, {"jobs": out}


@router.route("GET", r"/_double/jobs/(?P<name>[^/]+)", auth=False)
def double_job(d: Double, req: Request, name: str):
    for ws in d.workspaces.values():
        if name in ws.jobs:
            return 200, ws.jobs[name].internal()
    raise HttpError(404, "NotFound", f"no job {name}")


# ========================================================================================= main


def main(argv: list[str]) -> None:
    with open(argv[1]) as fh:
        config = json.load(fh)
    double = Double(config)
    server, port = serve_tls(double, "127.0.0.1", int(config.get("port", 0)), config["tls_cert"], config["tls_key"])
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    tmp = config["ready_file"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"port": port, "pid": os.getpid(), "base_url": double.base_url}, fh)
    os.replace(tmp, config["ready_file"])
    stop.wait()
    double.compute.shutdown()
    server.shutdown()


# Route groups kept in their own modules register on ``router`` when imported (after everything above exists).
from tests.azureml_double import (  # noqa: E402, F401
    components,
    routes_data,
    routes_datastores,
    routes_job_control,
    routes_models,
    routes_pipelines,
)
