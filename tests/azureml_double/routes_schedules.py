"""Routes of job schedules (``schedules.py`` holds the shapes), after the recordings [S1], [S2] listed in
``tests/azure/test_double_conformance_schedules.py``::

    PUT    {ws}/schedules/{name}              201 + Azure-AsyncOperation, body = properties only, Creating ([S1])
    GET    {ws}/schedules/{name}              the schedule; unknown: 404 "Resource Trigger <name> not found"
    GET    {ws}/schedules?listViewType=…      EnabledOnly (also when absent) / DisabledOnly / All
    DELETE {ws}/schedules/{name}              202 + Azure-AsyncOperation + Location; enabled: the operation fails
    GET    …/mfeOperationsStatus/s:{ws}:{op}  the operation (first poll in progress, then its end)
    GET    …/mfeOperationResults/s:{ws}:{op}  202 while it runs, then 200 ``null``
    POST   {ws}/schedules/{name}/trigger      200 {scheduleActionType, submissionId}; the pipeline job exists ([S2])
    POST   /_double/schedules/{name}/fire     test hook: what the cron does when it fires (enabled schedules only)

Disable and enable are full PUTs with ``isEnabled`` (the SDK's ``begin_disable`` / ``begin_enable``).
A triggered job is the schedule's pipeline job named ``<schedule>-<uuid>``, displayed as
``<schedule>-<schedule time>``, with ``runSource "Schedule"`` and the ``azureml.genericTrigger*`` properties;
literal inputs ``${{name}}`` become the job's name. It then runs like any pipeline job (``pipeline_runner.py``).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.azureml_double._http import HttpError, Request, azure_error
from tests.azureml_double.pipeline_runner import PipelineRunner, submit
from tests.azureml_double.routing import WS, router, utcnow
from tests.azureml_double.schedules import Operation, Schedule
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double

LIST_VIEWS = {"enabledonly": True, "disabledonly": False, "all": None}
OPERATION = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices"
    r"/locations/(?P<loc>[^/]+)/(?P<family>mfeOperationsStatus|mfeOperationResults)/s:(?P<wsid>[^:/]+):(?P<op>[^/]+)"
)
TRIGGER_PROPERTIES = {"azureml.runLineageType": "genericTrigger", "runSource": "Schedule"}


def _not_found(name: str) -> HttpError:
    """The recorded 404 of a schedule that does not exist ([S1])."""
    message = f"Resource Trigger {name} not found"
    info = [
        {"type": "ComponentName", "info": {"value": "managementfrontend"}},
        {"type": "InnerError", "info": {"value": {"code": "NotFound", "innerError": None}}},
    ]
    body = azure_error("UserError", message, additionalInfo=info)
    return HttpError(404, "UserError", message, body=body, headers={"x-ms-response-type": "error"})


def _schedule(ws: Workspace, name: str) -> Schedule:
    schedule = ws.schedules.get(name)
    if schedule is None:
        raise _not_found(name)
    return schedule


def _start(d: Double, ws: Workspace, operation: Operation) -> None:
    with d.lock:
        ws.operations[operation.op_id] = operation


@router.route("PUT", WS + r"/schedules/(?P<name>[^/]+)")
def put_schedule(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any, dict[str, str]]:
    body = req.json() or {}
    props = body.get("properties") or {}
    if (props.get("action") or {}).get("actionType") != "CreateJob":
        raise HttpError(400, "UserError", "azureml double: only schedules with actionType CreateJob are emulated.")
    trigger = props.get("trigger") or {}
    if trigger.get("triggerType") not in ("Cron", "Recurrence"):
        raise HttpError(
            400, "UserError", f"Unknown triggerType {trigger.get('triggerType')!r}; expected Cron or Recurrence."
        )
    with d.lock:
        schedule = Schedule.from_put(ws, name, body, ws.schedules.get(name))
        ws.schedules[name] = schedule
    operation = Operation(ws, name, "create")
    _start(d, ws, operation)
    api_version = req.query.get("api-version", "")
    headers = {
        "Azure-AsyncOperation": operation.url(d.base_url, "mfeOperationsStatus", api_version),
        "Location": f"{d.base_url}{schedule.arm_id}?api-version={api_version}",
        "x-ms-async-operation-timeout": "PT30M",
    }
    return 201, {"properties": schedule.rest_properties()}, headers


@router.route("GET", WS + r"/schedules/(?P<name>[^/]+)")
def get_schedule(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any]:
    return 200, _schedule(ws, name).to_rest()


@router.route("GET", WS + r"/schedules")
def list_schedules(d: Double, req: Request, ws: Workspace) -> tuple[int, Any]:
    view = req.query.get("listViewType", "EnabledOnly")
    if view.lower() not in LIST_VIEWS:
        raise HttpError(400, "UserError", f"listViewType {view!r}; expected EnabledOnly, DisabledOnly or All.")
    wanted = LIST_VIEWS[view.lower()]
    with d.lock:
        found = [s for s in ws.schedules.values() if wanted is None or s.enabled is wanted]
    return 200, {"value": [s.to_rest() for s in sorted(found, key=lambda s: s.created)]}


@router.route("DELETE", WS + r"/schedules/(?P<name>[^/]+)")
def delete_schedule(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any, dict[str, str]]:
    schedule = _schedule(ws, name)
    refusal = f"Cannot delete an active trigger {name}" if schedule.enabled else None
    operation = Operation(ws, name, "delete", fails_with=refusal)
    _start(d, ws, operation)
    api_version = req.query.get("api-version", "")
    headers = {
        "Azure-AsyncOperation": operation.url(d.base_url, "mfeOperationsStatus", api_version),
        "Location": operation.url(d.base_url, "mfeOperationResults", api_version),
        "x-ms-async-operation-timeout": "PT30M",
    }
    return 202, b"null", headers


@router.route("GET", OPERATION)
def get_operation(
    d: Double, req: Request, sub: str, loc: str, family: str, wsid: str, op: str
) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
    ws = next((w for w in d.workspaces.values() if w.workspace_id == wsid), None)
    operation = ws.operations.get(op) if ws is not None else None
    if ws is None or operation is None:
        raise HttpError(404, "NotFound", f"operation s:{wsid}:{op} not found")
    with d.lock:
        if operation.poll():
            _apply(ws, operation)
    if family == "mfeOperationsStatus":
        return 200, operation.to_rest()
    if operation.ended is None:
        return 202, b"null", {"Location": operation.url(d.base_url, family, req.query.get("api-version", ""))}
    return 200, b"null"


def _apply(ws: Workspace, operation: Operation) -> None:
    """What an operation does once it has ended (called under the double's lock)."""
    schedule = ws.schedules.get(operation.schedule)
    if schedule is None or operation.fails_with:
        return
    if operation.kind == "delete":
        del ws.schedules[operation.schedule]
        return
    schedule.provisioning_state = "Succeeded"
    schedule.modified = utcnow()


@router.route("POST", WS + r"/schedules/(?P<name>[^/]+)/trigger")
def trigger_schedule(d: Double, req: Request, ws: Workspace, name: str) -> tuple[int, Any]:
    schedule = _schedule(ws, name)
    sent = (req.json() or {}).get("scheduleTime")
    when = datetime.fromisoformat(sent) if sent else utcnow()
    job = start_scheduled_job(d, ws, schedule, when)
    return 200, {"scheduleActionType": "CreateJob", "submissionId": job}


def start_scheduled_job(d: Double, ws: Workspace, schedule: Schedule, when: datetime) -> str:
    """Create and start the schedule's pipeline job as the service does for one firing; returns its name."""
    definition = schedule.job_definition
    if definition.get("jobType") != "Pipeline":
        raise HttpError(400, "UserError", "azureml double: only schedules of pipeline jobs are emulated.")
    job_name = f"{schedule.name}-{uuid.uuid4()}"
    props = copy.deepcopy(definition)
    for key in ("status", "services"):
        props.pop(key, None)
    for item in (props.get("inputs") or {}).values():
        if str(item.get("value", "")).strip() == "${{name}}":
            item["value"] = job_name
    props["displayName"] = f"{schedule.name}-{when.strftime('%Y%m%dT%H%M%SZ')}"
    pipeline, _ = submit(d, ws, job_name, {"properties": props})
    pipeline.origin_properties = {**TRIGGER_PROPERTIES, "azureml.genericTriggerName": schedule.name}
    PipelineRunner(d, pipeline).start()
    return job_name


@router.route("POST", r"/_double/schedules/(?P<name>[^/]+)/fire", auth=False)
def fire_schedule(d: Double, req: Request, name: str) -> tuple[int, Any]:
    """Test hook: the schedule's trigger fires now (its time rounded down to the minute, as a cron's is).
    A disabled schedule does not fire (409), as its trigger would not."""
    for ws in d.workspaces.values():
        schedule = ws.schedules.get(name)
        if schedule is None:
            continue
        if not schedule.enabled:
            raise HttpError(409, "Conflict", f"schedule {name} is disabled: its trigger does not fire")
        when = utcnow().replace(second=0, microsecond=0)
        return 200, {"job": start_scheduled_job(d, ws, schedule, when)}
    raise HttpError(404, "NotFound", f"no schedule {name}")
