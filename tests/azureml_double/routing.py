"""What every ``routes_*`` module of the double shares: the router, the ARM path patterns, Azure's errors.

A route family of the REST API (workspaces, computes, jobs, run history...) is one ``routes_*`` module that
registers handlers on :data:`router` when imported; ``server.ROUTE_MODULES`` lists them (one line each).

Adding an endpoint: write ``def my_endpoint(d, req, ws, name): ... return 200, {...}`` and register it with
``@router.route("GET", WS + r"/things/(?P<name>[^/]+)")``. ``WS`` matches the workspace ARM scope and the
dispatcher resolves ``ws`` (a :class:`~tests.azureml_double.state.Workspace`) from it, answering Azure's 404
for unknown workspaces. Raise ``HttpError(404, "ResourceNotFound", "...")`` for Azure-shaped errors.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tests.azureml_double._http import HttpError, Router, azure_error

PROVIDER = "Microsoft.MachineLearningServices"
# Path prefixes are matched case-insensitively (ARM is case-insensitive) by the router.
WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws_name>[^/]+)"
)
HISTORY = r"/history/v1\.0" + WS
MLFLOW = r"/mlflow/v2\.0" + WS
MFE_PREFIX = "/mferp/managementfrontend"

# Every route module registers here; the first matching route wins (``first=True`` puts one in front).
router = Router()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


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
