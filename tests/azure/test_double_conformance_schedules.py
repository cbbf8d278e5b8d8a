"""The double answers schedule exchanges as Azure ML did in recorded ones: the recorded requests are sent again
(ids, computes and components made the double's) and the answers compared where Azure fixes them.

Sources (public recordings made by the Azure SDK's own test suite of the live service), under
``python/sdk/ml/azure-ai-ml/tests/recordings/`` in Azure/azure-sdk-assets:

[S1] @ 0f1d79f0e13f8591e1265c30a19ffc00b773608e (azure-ai-ml 1.14.0, api 2023-06-01-preview, 2024-02-20),
     schedule/e2etests/test_schedule.pyTestScheduletest_schedule_lifetime.json: ``PUT schedules/<name>`` (201 +
     ``Azure-AsyncOperation``), its polls (``Creating`` then ``Succeeded``), the final GET, disable as a full PUT,
     ``DELETE`` of an enabled schedule (the operation fails), of a disabled one, and the GET 404 after it
[S2] the same recording: ``POST schedules/<name>/trigger`` and the GET of the job it created; and
     @ d0dbceadc6d23b9cced65d373038f0da5991672d (azure-ai-ml 1.32.0, 2026-03-03),
     sweep_job/e2etests/test_sweep_job.pyTestSweepJobtest_sweep_job_submit.json: a schedule GET with ``id``
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import pytest

from tests.azure.test_double_conformance_pipelines import call, put_component
from tests.waiting import wait_until

pytestmark = pytest.mark.azure

API = "2023-06-01-preview"
# A one-input component standing in for [S1]'s three (their specs are not in the recording).
HELLO_COMPONENT = {
    "name": "hello_component",
    "version": "1",
    "type": "command",
    "is_deterministic": True,
    "command": "echo hello ${{inputs.hello_string}}",
    "environment": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
    "inputs": {"hello_string": {"type": "string"}},
    "_source": "YAML.COMPONENT",
}
# [S1] the trigger as sent
RECORDED_TRIGGER = {
    "endTime": "2099-01-01 00:00:00",
    "startTime": "2022-03-10 10:15:00",
    "timeZone": "Pacific Standard Time",
    "triggerType": "Cron",
    "expression": "15 10 * * 1",
}
OPERATION_URL = re.compile(
    r"https://[^/]+/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)"
    r"/(?P<family>mfeOperationsStatus|mfeOperationResults)/s:(?P<wsid>[0-9a-f-]+):(?P<op>[^?]+)\?api-version=.+"
)


def recorded_schedule(double: Any, component_id: str, enabled: bool | None = None) -> dict[str, Any]:
    """[S1]'s create body, with the double's workspace ids and one node."""
    node = {
        "name": "a",
        "type": "command",
        "inputs": {
            "hello_string": {"job_input_type": "literal", "value": "${{parent.inputs.hello_string_top_level_input}}"}
        },
        "_source": "YAML.JOB",
        "componentId": component_id,
    }
    props: dict[str, Any] = {
        "description": "a weekly retrain schedule",
        "properties": {},
        "tags": {},
        "action": {
            "actionType": "CreateJob",
            "jobDefinition": {
                "properties": {},
                "tags": {},
                "computeId": f"{double.workspace_scope}/computes/cpu-cluster",
                "displayName": "hello_pipeline_abc",
                "isArchived": False,
                "jobType": "Pipeline",
                "inputs": {"hello_string_top_level_input": {"jobInputType": "literal", "value": "${{name}}"}},
                "jobs": {"a": node},
                "outputs": {},
                "settings": {"_source": "YAML.JOB"},
            },
        },
        "displayName": "weekly retrain schedule",
        "trigger": dict(RECORDED_TRIGGER),
    }
    if enabled is not None:
        props["isEnabled"] = enabled
    return {"properties": props}


def schedule_path(double: Any, name: str) -> str:
    return f"{double.workspace_scope}/schedules/{name}"


def poll(double: Any, url: str) -> Any:
    """One GET of an operation URL (as the SDK's poller sends it)."""
    import requests

    return requests.get(url, headers={"Authorization": "Bearer t"}, timeout=30)


def created(double: Any, enabled: bool | None = None) -> tuple[str, dict[str, Any]]:
    """A schedule created and provisioned (its operation polled to the end)."""
    component = put_component(double, HELLO_COMPONENT).json()
    name = f"test_{uuid.uuid4().hex[:12]}"
    body = recorded_schedule(double, component["id"], enabled)
    put = call(double, "PUT", schedule_path(double, name), body, api=API)
    assert put.status_code == 201
    succeeded(double, put.headers["Azure-AsyncOperation"])
    return name, body


def succeeded(double: Any, operation: str) -> None:
    """Poll an operation until it has succeeded (as the SDK's poller does, without its 5 s pauses)."""
    wait_until(lambda: poll(double, operation).json()["status"] == "Succeeded", 30, f"{operation} to succeed")


def test_schedule_put_is_an_lro_creating_then_succeeded(azureml_double) -> None:
    """[S1] 201 + ``Azure-AsyncOperation`` (subscription-scoped ``mfeOperationsStatus/s:<workspace id>:<op>``),
    ``Location`` = the schedule, ``PT30M``, no ``Retry-After``; body = ``properties`` only, ``Creating``, the job
    definition echoed with the service's additions; polls ``Creating`` then ``Succeeded``; then the GET."""
    component = put_component(azureml_double, HELLO_COMPONENT).json()
    name = f"test_{uuid.uuid4().hex[:12]}"
    path = schedule_path(azureml_double, name)
    body = recorded_schedule(azureml_double, component["id"])

    put = call(azureml_double, "PUT", path, body, api=API)

    assert put.status_code == 201
    assert put.headers["Location"] == f"{azureml_double.base_url}{path}?api-version={API}"
    assert put.headers["x-ms-async-operation-timeout"] == "PT30M" and "Retry-After" not in put.headers
    operation = OPERATION_URL.fullmatch(put.headers["Azure-AsyncOperation"])
    assert operation is not None and operation["family"] == "mfeOperationsStatus"
    answer = put.json()
    assert list(answer) == ["properties"]  # no id, no name
    props = answer["properties"]
    assert (props["provisioningState"], props["isEnabled"], props["trigger"]) == ("Creating", True, RECORDED_TRIGGER)
    job = props["action"]["jobDefinition"]
    sent = body["properties"]["action"]["jobDefinition"]
    assert {k: job[k] for k in ("status", "experimentName", "services", "description", "sourceJobId")} == {
        "status": "NotStarted",
        "experimentName": "Default",
        "services": None,
        "description": None,
        "sourceJobId": None,
    }
    assert job["jobs"] == sent["jobs"] and job["settings"] == sent["settings"] and job["outputs"] == {}
    assert job["inputs"] == {
        "hello_string_top_level_input": {"description": None, "jobInputType": "literal", "value": "${{name}}"}
    }
    assert call(azureml_double, "GET", path, api=API).json()["properties"]["provisioningState"] == "Creating"

    first, second = (poll(azureml_double, put.headers["Azure-AsyncOperation"]).json() for _ in range(2))

    op_name = f"s:{operation['wsid']}:{operation['op']}"
    assert first == {
        "id": f"/subscriptions/{azureml_double.subscription_id}/providers/Microsoft.MachineLearningServices"
        f"/locations/{operation['loc']}/mfeOperationResults/{op_name}",
        "name": op_name,
        "status": "Creating",
    }
    assert second["status"] == "Succeeded" and {"startTime", "endTime"} <= set(second)
    got = call(azureml_double, "GET", path, api=API)
    assert got.status_code == 200
    schedule = got.json()
    assert (schedule["name"], schedule["id"]) == (name, path) and "type" not in schedule  # [S2] 2026 GET
    assert schedule["properties"]["provisioningState"] == "Succeeded"
    assert {"createdAt", "createdBy", "lastModifiedAt"} <= set(schedule["systemData"])


def test_list_views_filter_enabled_and_disabled_schedules(azureml_double) -> None:
    """[S1] ``GET schedules?listViewType=EnabledOnly`` lists ``{value: [{name, properties, systemData}]}``."""
    on, _ = created(azureml_double)
    off, _ = created(azureml_double, enabled=False)

    def listed(view: str) -> set[str]:
        path = f"{azureml_double.workspace_scope}/schedules?listViewType={view}"
        return {s["name"] for s in call(azureml_double, "GET", path, api=API).json()["value"]}

    enabled, disabled, every = listed("EnabledOnly"), listed("DisabledOnly"), listed("All")
    assert on in enabled and off not in enabled
    assert off in disabled and on not in disabled
    assert {on, off} <= every


def test_deleting_an_enabled_schedule_fails_and_a_disabled_one_is_deleted(azureml_double) -> None:
    """[S1] DELETE: 202, body ``null``, ``Azure-AsyncOperation`` + ``Location`` (``mfeOperationResults``); enabled:
    the operation ends ``Failed`` "Cannot delete an active trigger"; after a disable PUT: ``Deleting`` then
    ``Succeeded``, then GET 404 "Resource Trigger <name> not found" (InnerError NotFound)."""
    name, body = created(azureml_double)
    path = schedule_path(azureml_double, name)

    refused = call(azureml_double, "DELETE", path, api=API)

    assert refused.status_code == 202 and refused.content == b"null"
    assert OPERATION_URL.fullmatch(refused.headers["Location"])["family"] == "mfeOperationResults"
    polls = [poll(azureml_double, refused.headers["Azure-AsyncOperation"]).json() for _ in range(2)]
    assert polls[0]["status"] == "Deleting"
    assert polls[1]["status"] == "Failed"
    assert polls[1]["error"] == {
        "code": "UserError",
        "message": f"Cannot delete an active trigger {name}",
        "details": [],
        "additionalInfo": [],
    }
    assert call(azureml_double, "GET", path, api=API).status_code == 200

    disable = copy.deepcopy(body)
    disable["properties"]["isEnabled"] = False
    put = call(azureml_double, "PUT", path, disable, api=API)
    assert put.status_code == 201 and put.json()["properties"]["isEnabled"] is False
    succeeded(azureml_double, put.headers["Azure-AsyncOperation"])
    deleted = call(azureml_double, "DELETE", path, api=API)
    statuses = [poll(azureml_double, deleted.headers["Azure-AsyncOperation"]).json()["status"] for _ in range(2)]

    assert statuses == ["Deleting", "Succeeded"]
    gone = call(azureml_double, "GET", path, api=API)
    assert gone.status_code == 404
    error = gone.json()["error"]
    assert (error["code"], error["message"]) == ("UserError", f"Resource Trigger {name} not found")
    assert {"type": "InnerError", "info": {"value": {"code": "NotFound", "innerError": None}}} in error[
        "additionalInfo"
    ]


def test_trigger_creates_the_schedules_pipeline_job_at_once(azureml_double) -> None:
    """[S2] ``POST …/trigger {scheduleTime}`` → 200 ``{scheduleActionType, submissionId: <schedule>-<uuid>}``; the
    job exists when it answers, displayed ``<schedule>-<yyyyMMddTHHmmssZ>``, ``runSource "Schedule"``,
    ``azureml.genericTrigger*``; ``${{name}}`` resolved to the job's name; and it runs."""
    name, _ = created(azureml_double)

    trigger = call(
        azureml_double,
        "POST",
        f"{schedule_path(azureml_double, name)}/trigger",
        {"scheduleTime": "2024-02-19T00:00:00"},
    )

    assert trigger.status_code == 200
    answer = trigger.json()
    assert answer["scheduleActionType"] == "CreateJob"
    job_name = answer["submissionId"]
    assert job_name.startswith(f"{name}-") and uuid.UUID(job_name[len(name) + 1 :])
    job_path = f"{azureml_double.workspace_scope}/jobs/{job_name}"
    first = call(azureml_double, "GET", job_path)
    assert first.status_code == 200
    assert first.json()["properties"]["displayName"] == f"{name}-20240219T000000Z"
    done = wait_until(
        lambda: (got := call(azureml_double, "GET", job_path).json())["properties"]["status"] == "Completed" and got,
        180,
        "the triggered job to complete",
    )
    props = done["properties"]["properties"]
    assert {k: props[k] for k in ("azureml.runLineageType", "azureml.genericTriggerName", "runSource")} == {
        "azureml.runLineageType": "genericTrigger",
        "azureml.genericTriggerName": name,
        "runSource": "Schedule",
    }
    assert props["azureml.parameters"] == f'{{"hello_string_top_level_input":"{job_name}"}}'
    (step,) = [j for j in azureml_double.jobs() if j.get("kind") == "step" and j["pipeline"] == job_name]
    assert f"hello {job_name}" in azureml_double.job_log(step["name"])


def test_the_cron_hook_fires_an_enabled_schedule_only(azureml_double) -> None:
    """The test hook: an enabled schedule's firing creates its job, as ``trigger`` does; a disabled one does not."""
    on, _ = created(azureml_double)
    off, _ = created(azureml_double, enabled=False)

    job_name = azureml_double.fire_schedule(on)

    job = call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/{job_name}").json()
    assert job["properties"]["displayName"].startswith(f"{on}-")
    with pytest.raises(Exception, match="409"):
        azureml_double.fire_schedule(off)
