"""In-process fake credential for the double (no network: tokens are minted locally)."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

TENANT_ID = "00000000-0000-0000-0000-0000000d0b1e"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_jwt(audience: str, tenant_id: str = TENANT_ID, lifetime: int = 3600, **claims: Any) -> tuple[str, int]:
    """An unsigned JWT (``alg: none``) with ``aud`` = ``audience``. Returns ``(token, expires_on)``."""
    now = int(time.time())
    payload = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now - 60,
        "exp": now + lifetime,
        "tid": tenant_id,
        "oid": "00000000-0000-0000-0000-00000000d0b1",
        "sub": "azureml-double-test-principal",
        "upn": "double@example.invalid",
    }
    payload.update(claims)
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(payload).encode())}.", payload["exp"]


def _resource(scope: str) -> str:
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


class FakeTokenCredential:
    """A ``TokenCredential`` (and ``SupportsTokenInfo``) minting unsigned JWTs whose ``aud`` is the scope's
    resource, as Azure pipeline-job code checks. Counts calls in :attr:`calls`."""

    def __init__(self, tenant_id: str = TENANT_ID, lifetime: int = 3600) -> None:
        self.tenant_id = tenant_id
        self.lifetime = lifetime
        self.calls: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ):
        from azure.core.credentials import AccessToken

        token, exp = self._mint(scopes, tenant_id)
        return AccessToken(token, exp)

    def get_token_info(self, *scopes: str, options: dict | None = None):
        from azure.core.credentials import AccessTokenInfo

        token, exp = self._mint(scopes, (options or {}).get("tenant_id"))
        return AccessTokenInfo(token, exp, token_type="Bearer", refresh_on=exp - 300)

    def _mint(self, scopes: tuple[str, ...], tenant_id: str | None) -> tuple[str, int]:
        with self._lock:
            self.calls.append(tuple(scopes))
        audience = _resource(scopes[0]) if scopes else ""
        return unsigned_jwt(audience, tenant_id or self.tenant_id, self.lifetime)

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeTokenCredential:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def jwt_audience(token: str | None) -> str | None:
    """The ``aud`` claim of a JWT bearer token (``None`` for opaque tokens), for the request log."""
    if not token or token.count(".") != 2:
        return None
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))).get("aud")
    except Exception:  # noqa: BLE001 - opaque tokens are fine
        return None
