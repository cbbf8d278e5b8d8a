"""Turn the ``credentials:`` section into an ``azure.identity`` credential.

Secrets never live in the project: each type delegates to azure-identity, which finds them
(``az login``, managed identity, ``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET``…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.settings.config import CredentialsConfig, CredentialType

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

HOW_TO_SIGN_IN = {
    CredentialType.default: "run `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, "
    "or choose another credentials.type in azureml.yml",
    CredentialType.cli: "run `az login` (credentials.type is 'cli')",
    CredentialType.managed_identity: "run on Azure with a managed identity, and set credentials.client_id "
    "for a user-assigned one",
    CredentialType.environment: "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
    CredentialType.interactive_browser: "sign in in the browser window that opens",
    CredentialType.device_code: "open the device-login page shown and enter the code",
}


def build_credential(config: CredentialsConfig) -> TokenCredential:
    """The credential the config asks for (imports azure.identity only when called)."""
    from azure import identity

    # Unset ids are left out, not passed as None: each credential then applies its own default.
    tenant: dict[str, Any] = {"tenant_id": config.tenant_id} if config.tenant_id else {}
    client: dict[str, Any] = {"client_id": config.client_id} if config.client_id else {}
    kind = config.type
    if kind is CredentialType.default:
        extra: dict[str, Any] = {"managed_identity_client_id": config.client_id} if config.client_id else {}
        return identity.DefaultAzureCredential(exclude_interactive_browser_credential=True, **extra)
    if kind is CredentialType.cli:
        return identity.AzureCliCredential(**tenant)
    if kind is CredentialType.managed_identity:
        return identity.ManagedIdentityCredential(**client)
    if kind is CredentialType.environment:
        return identity.EnvironmentCredential()
    if kind is CredentialType.interactive_browser:
        return identity.InteractiveBrowserCredential(**client, **tenant)
    return identity.DeviceCodeCredential(**client, **tenant)
