"""Test-only ``/_double/*`` endpoints: health, the request log, reset, settings, faults, job internals."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import router
from tests.azureml_double.state import DEFAULT_SETTINGS

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


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
