"""Short-lived tokens, and Azure's refusal of expired ones (switched on per test with ``settings``).

The double's identity endpoints mint tokens that live ``token_lifetime_seconds`` (Azure AD: 60-90
minutes), and every authenticated route refuses a bearer token whose ``exp`` is more than
``token_clock_skew_seconds`` in the past (Azure's token validation allows 5 minutes of skew) with
the 401 ARM answers for an expired token: code ``ExpiredAuthenticationToken`` and a
``WWW-Authenticate: Bearer … error="invalid_token"`` challenge, which azure-core's bearer policy
reads. Tokens in the job environment (``MLFLOW_TRACKING_TOKEN``) keep their long lifetime, as
Azure ML's run tokens do.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone
from typing import Any

from tests.azureml_double._http import HttpError

DEFAULTS = {"token_lifetime_seconds": 3600, "token_clock_skew_seconds": 300}


def token_exp(token: str | None) -> int | None:
    """The ``exp`` claim of a JWT bearer token (``None`` for opaque tokens)."""
    if not token or token.count(".") != 2:
        return None
    part = token.split(".")[1]
    try:
        exp = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))).get("exp")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(exp) if isinstance(exp, (int, float)) else None


def lifetime(settings: dict[str, Any]) -> int:
    return int(settings.get("token_lifetime_seconds", DEFAULTS["token_lifetime_seconds"]))


def refuse_if_expired(settings: dict[str, Any], token: str | None, authority: str) -> None:
    """Raise Azure's 401 for a token that expired longer ago than the allowed clock skew."""
    exp = token_exp(token)
    skew = int(settings.get("token_clock_skew_seconds", DEFAULTS["token_clock_skew_seconds"]))
    now = time.time()
    if exp is None or exp + skew >= now:
        return
    expiry = datetime.fromtimestamp(exp, timezone.utc).strftime("%m/%d/%Y %I:%M:%S %p")
    current = datetime.fromtimestamp(now, timezone.utc).strftime("%m/%d/%Y %I:%M:%S %p")
    raise HttpError(
        401,
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{expiry}' is earlier than current UTC time '{current}'.",
        headers={
            "WWW-Authenticate": f'Bearer authorization_uri="{authority}", error="invalid_token", '
            'error_description="The access token has expired."'
        },
    )
