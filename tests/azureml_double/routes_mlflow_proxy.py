"""The MLflow proxy: ``/mlflow/v2.0/<workspace scope>/api/2.0/mlflow/...`` goes to the real ``mlflow server``,
with Azure ML's limits enforced and artifact URIs rewritten to the ``azureml://`` shape azureml-mlflow expects.

``routes_models.py`` carves Azure ML's model-API differences out of it (registered in front of the proxy)."""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import MLFLOW, router
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


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
