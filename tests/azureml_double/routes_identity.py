"""Identity: the token endpoints and cloud metadata that let real azure-identity credentials reach the double
with environment variables only (client secret through MSAL, managed identity as on Azure ML compute)."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from tests.azureml_double import token_expiry
from tests.azureml_double._http import Request
from tests.azureml_double.credentials import unsigned_jwt
from tests.azureml_double.routing import router

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


def scope_to_resource(scope: str) -> str:
    scope = scope.split(maxsplit=1)[0] if scope else ""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


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
    token, _ = unsigned_jwt(
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
    token, exp = unsigned_jwt(scope_to_resource(resource), d.tenant_id, lifetime)
    return 200, {
        "access_token": token,
        "expires_on": str(exp),
        "expires_in": str(lifetime),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": req.query.get("clientid") or req.query.get("client_id") or "00000000-0000-0000-0000-00000000a991",
    }
