"""Routes of sweep jobs and their trials (``sweep_jobs.py`` holds the shapes, ``sweep_runner.py`` runs them).

Registered with ``first=True`` in front of the pipeline and command-job routes; each hands anything that is not
a sweep back to the route it shadows ([W1]: the recorded sweep listed in
``tests/azure/test_double_conformance_sweeps.py``)::

    PUT  {ws}/jobs/{name}                      jobType Sweep: 201 Running, _aml_system_* tags ([W1])
    GET  {ws}/jobs                             without the trials
    GET  /history/v1.0/{ws}/runs/{id}/children a sweep's trials, by creation time

``GET jobs/{name}`` (a sweep or a trial), cancel (``POST jobs/{name}/cancel``: a sweep's runner then cancels
its trials) and run-history details are the command-job routes', from the jobs' own ``to_rest`` and
``run_details``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.azureml_double import routes_pipelines
from tests.azureml_double._http import Request
from tests.azureml_double.pipeline_jobs import StepJob
from tests.azureml_double.routing import HISTORY, WS, router
from tests.azureml_double.state import Workspace
from tests.azureml_double.sweep_jobs import SweepJob, TrialJob
from tests.azureml_double.sweep_runner import submit

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


@router.route("PUT", WS + r"/jobs/(?P<name>[^/]+)", first=True)
def put_job(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
    body = req.json() or {}
    is_sweep = (body.get("properties") or {}).get("jobType") == "Sweep"
    if not is_sweep and not isinstance(ws.jobs.get(name), SweepJob):
        return routes_pipelines.put_job(d, req, ws, name)
    sweep, created = submit(d, ws, name, body)
    if not created:
        return 200, sweep.to_rest()
    location = f"{d.base_url}{sweep.arm_id}?api-version={req.query.get('api-version', '')}"
    return 201, sweep.to_rest(), {"Location": location}


@router.route("GET", WS + r"/jobs", first=True)
def list_jobs(d: Double, req: Request, ws: Workspace) -> tuple[int, Any]:
    children = (StepJob, TrialJob)
    jobs = sorted((j for j in ws.jobs.values() if not isinstance(j, children)), key=lambda j: j.created, reverse=True)
    return 200, {"value": [j.to_rest() for j in jobs]}


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)/children", first=True)
def run_children(d: Double, req: Request, ws: Workspace, run_id: str) -> tuple[int, Any]:
    job = ws.jobs.get(run_id)
    if not isinstance(job, SweepJob):
        return routes_pipelines.run_children(d, req, ws, run_id)
    trials = sorted(list(job.trials), key=lambda trial: trial.created)
    top = req.query.get("$top")
    if top:
        trials = trials[: int(top)]
    return 200, {"value": [trial.run() for trial in trials]}
