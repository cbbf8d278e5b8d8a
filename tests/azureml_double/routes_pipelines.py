"""Routes of pipeline jobs and their steps (``pipeline_jobs.py`` holds the shapes, ``pipeline_runner.py`` runs them).

Registered with ``first=True`` in front of the command-job routes of ``server.py``; each hands anything that is
not a pipeline or a step back to the command-job route it shadows ([P1]-[P3]: the recorded sources listed in
``tests/azure/test_double_conformance_pipelines.py``)::

    PUT  {ws}/jobs/{name}                      jobType Pipeline: 201 NotStarted, jobs/settings echoed ([P1])
    GET  {ws}/jobs/{name}                      a pipeline; a step: id, name, type, systemData only ([P2])
    GET  {ws}/jobs                             without the steps
    POST {ws}/jobs/{name}/cancel               a pipeline: cancels its running steps; ended: 400 ([P3])
    GET  /history/v1.0/{ws}/runs/{id}          a pipeline's or a step's run (Run shape)
    GET  /history/v1.0/{ws}/runs/{id}/children the steps, by creation time ([P1])

A step's run-history details (``runs/{id}/details``: status, error, ``logFiles``) and log files are served by
the command-job routes, from the step's own ``run_details``.
"""

from __future__ import annotations

from typing import Any

from tests.azureml_double import routes_jobs, routes_run_history
from tests.azureml_double._http import HttpError, Request, azure_error
from tests.azureml_double.pipeline_jobs import PipelineJob, StepJob
from tests.azureml_double.pipeline_runner import PipelineRunner, submit
from tests.azureml_double.routing import HISTORY, WS, router
from tests.azureml_double.server import Double
from tests.azureml_double.state import Workspace


@router.route("PUT", WS + r"/jobs/(?P<name>[^/]+)", first=True)
def put_job(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any, dict[str, str]] | tuple[int, Any]:
    body = req.json() or {}
    existing = ws.jobs.get(name)
    is_pipeline = (body.get("properties") or {}).get("jobType") == "Pipeline"
    if not is_pipeline and not isinstance(existing, PipelineJob):
        return routes_jobs.put_job(d, req, ws, name)
    pipeline, created = submit(d, ws, name, body)
    answer = pipeline.to_rest()  # NotStarted, before the runner moves it on
    if not created:
        return 200, answer
    PipelineRunner(d, pipeline).start()
    location = f"{d.base_url}{pipeline.arm_id}?api-version={req.query.get('api-version', '')}"
    return 201, answer, {"Location": location}


@router.route("GET", WS + r"/jobs/(?P<name>[^/]+)", first=True)
def get_job(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any]:
    job = ws.jobs.get(name)
    if isinstance(job, (PipelineJob, StepJob)):
        return 200, job.to_rest()
    return routes_jobs.get_job(d, req, ws, name)


@router.route("GET", WS + r"/jobs", first=True)
def list_jobs(d: Double, req: Request, ws: Workspace) -> tuple[int, Any]:
    jobs = sorted((j for j in ws.jobs.values() if not isinstance(j, StepJob)), key=lambda j: j.created, reverse=True)
    return 200, {"value": [j.to_rest() for j in jobs]}


@router.route("POST", WS + r"/jobs/(?P<name>[^/]+)/cancel", first=True)
def cancel_job(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
    job = ws.jobs.get(name)
    if not isinstance(job, PipelineJob):
        return routes_jobs.cancel_job(d, req, ws, name)
    if job.ended:
        message = f"The pipeline run {name} is in terminal status, it can't be canceled."
        inner = {
            "code": "BadArgument",
            "innerError": {
                "code": "ArgumentInvalid",
                "innerError": {"code": "CancelPipelineRunInTerminalStatus", "innerError": None},
            },
        }
        body = azure_error(
            "UserError",
            message,
            additionalInfo=[
                {"type": "ComponentName", "info": {"value": "managementfrontend"}},
                {"type": "InnerError", "info": {"value": inner}},
            ],
        )
        raise HttpError(400, "UserError", message, body=body, headers={"x-ms-response-type": "error"})
    d.compute.cancel(job)  # the runner sees the request and cancels the running steps
    return (
        202,
        b"null",
        {"Location": routes_jobs._cancel_operation_url(d, ws, name), "x-ms-async-operation-timeout": "PT1H"},
    )


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)", first=True)
def run_get(d: Double, req: Request, ws: Workspace, run_id: str) -> tuple[int, Any]:
    job = ws.jobs.get(run_id)
    if isinstance(job, StepJob):
        return 200, job.run()
    if isinstance(job, PipelineJob):
        return 200, job.run_details(d.base_url)
    return routes_run_history.run_get(d, req, ws, run_id)


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)/children")
def run_children(d: Double, req: Request, ws: Workspace, run_id: str) -> tuple[int, Any]:
    job = ws.jobs.get(run_id)
    if job is None:
        routes_run_history.run_details(d, req, ws, run_id)  # raises run history's 404
    steps = sorted(job.steps.values(), key=lambda s: s.created) if isinstance(job, PipelineJob) else []
    top = req.query.get("$top")
    if top:
        steps = steps[: int(top)]
    return 200, {"value": [step.run() for step in steps]}
