"""The fake Azure ML control plane: one process serving every route family of the double over HTTPS.

Run as a separate process by :mod:`tests.azureml_double.launcher`::

    python -m tests.azureml_double <config.json>

It binds ``127.0.0.1`` (port from the config, 0 = any free one), writes ``{"port": N}`` to the config's
``ready_file`` and serves until SIGTERM. All state lives in memory in this process (``state.py``).

This module is the dispatcher (auth, workspace look-up, faults, the request log); the routes live in one
module per family of the REST API, listed in :data:`ROUTE_MODULES` (see ``routing.py`` to add one).
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import signal
import threading
import time
import uuid
from typing import Any

from tests.azureml_double import token_expiry
from tests.azureml_double._http import App, HttpError, Request, azure_error, serve_tls
from tests.azureml_double.credentials import jwt_audience
from tests.azureml_double.faults import Faults
from tests.azureml_double.routing import MFE_PREFIX, PROVIDER, router
from tests.azureml_double.state import DEFAULT_SETTINGS, Workspace

# One module per route family, in match order (the first matching route wins). A new family (pipeline jobs,
# sweeps, schedules...) is a new ``routes_*`` module and one line here.
ROUTE_MODULES = (
    "routes_identity",
    "routes_workspace",
    "routes_compute",
    "routes_assets",
    "routes_jobs",
    "routes_run_history",
    "routes_mlflow_proxy",
    "routes_artifacts",
    "routes_double_control",
    "routes_datastores",
    "routes_data",
    "routes_job_control",
    "components",
    "routes_pipelines",
    "routes_schedules",
    "routes_sweeps",
    "routes_models",  # carves Azure ML's model-API differences out of the MLflow proxy (registers first=True)
)


def load_routes() -> None:
    """Import every route module (each registers its routes on ``routing.router`` once, when first imported)."""
    for name in ROUTE_MODULES:
        importlib.import_module(f"tests.azureml_double.{name}")


class Double(App):
    def __init__(self, config: dict) -> None:
        load_routes()
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
            # ARM's gateway answers this one: only code and message
            # (source [4] of tests/azure/test_double_conformance.py).
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
    server.shutdown()
