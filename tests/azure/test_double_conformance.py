"""The double answers as Azure ML did in real recorded exchanges: status by status, header by header, and field
by field for the bodies the plugin and the SDK read.

The expectations are written out from public recordings of the live service, made by the Azure SDK's and Azure
PowerShell's own test suites. Values that vary (names, ids, times, signatures) are not compared; the statuses,
the field names and the values Azure fixes are. Each test cites its source:

[1] Azure/azure-sdk-assets @ 0f205ad0ccc3172a5f53d86f21c9f2a79da41099 (azure-ai-ml 1.32.0, recorded 2026-03-27),
    python/sdk/ml/azure-ai-ml/tests/recordings/command_job/e2etests/
    test_command_job.pyTestCommandJobtest_command_job_dependency_label_resolution.json
[2] Azure/azure-sdk-assets @ 0f205ad0ccc3172a5f53d86f21c9f2a79da41099, python/sdk/ml/azure-ai-ml/tests/recordings/
    command_job/e2etests/test_command_job.pyTestCommandJobtest_command_job_serverless.json (first two entries)
[3] Azure/azure-powershell @ 689c9cc23e5e1f579483c35017a5c399eb78ad30,
    src/MachineLearningServices/MachineLearningServices.Autorest/test/Stop-AzMLWorkspaceJob.Recording.json
[4] Azure/azure-sdk-assets @ 0a03fbfe323057a51a95a1aa3e28f4c1fc865534, python/sdk/ml/azure-ai-ml/tests/recordings/
    workspace/e2etests/test_workspace.pyTestWorkspacetest_workspace_update.json (first entry)
[5] the issue thread Azure/azure-cli-extensions#6662: a 404 from the management front end, as azure-core logged it
"""

from __future__ import annotations

import re
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.azure

RECORDED_RESOURCE_FIELDS = {"id", "name", "properties", "systemData", "type"}
RECORDED_COMMAND_JOB_PROPERTIES = {
    "codeId",
    "command",
    "componentId",
    "computeId",
    "description",
    "displayName",
    "distribution",
    "environmentId",
    "environmentVariables",
    "experimentName",
    "identity",
    "inputs",
    "isArchived",
    "jobType",
    "limits",
    "notificationSetting",
    "outputs",
    "parameters",
    "parentJobName",
    "properties",
    "queueSettings",
    "resources",
    "services",
    "status",
    "tags",
}
# A job PUT without these gets them as recorded (the recorded job set none of them).
RECORDED_UNSET_JOB_PROPERTIES = {
    "componentId": None,
    "description": None,
    "distribution": None,
    "identity": None,
    "limits": None,
    "notificationSetting": None,
    "parentJobName": None,
    "environmentVariables": {},
    "parameters": {},
    "queueSettings": {"jobTier": "Null"},
    "isArchived": False,
    "jobType": "Command",
}
RECORDED_RESOURCES = {
    "instanceCount": 1,
    "instanceType": None,
    "properties": None,
    "shmSize": "2g",
    "dockerArgs": None,
    "dockerArgsList": None,
}
RECORDED_SERVICE_FIELDS = {"endpoint", "errorMessage", "jobServiceType", "nodes", "port", "properties", "status"}
RECORDED_DEFAULT_OUTPUT = {
    "description": None,
    "assetName": None,
    "mode": "ReadWriteMount",
    "jobOutputType": "uri_folder",
}


def call(double, method: str, path: str, body: Any = None):
    import requests

    return requests.request(
        method,
        double.base_url + path,
        json=body,
        headers={"Authorization": "Bearer t"},
        params={"api-version": "2024-10-01"},
        timeout=30,
    )


def submit(double, tmp_path: Path, script: str):
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment

    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    (code / "main.py").write_text(textwrap.dedent(script))
    job = command(code=str(code), command="python main.py", compute="cpu-cluster", environment=Environment(image="i:1"))
    return double.ml_client().jobs.create_or_update(job)


def test_job_put_and_get_have_the_recorded_fields_and_status(azureml_double, tmp_path: Path) -> None:
    """[1], entry ``PUT jobs/test_781131835858``: 201, ``status: Starting``, the fields below, ``outputs.default``
    in ``workspaceartifactstore``."""
    since = azureml_double.last_seq()
    created = submit(azureml_double, tmp_path, "print('x')\n")
    (put,) = azureml_double.requests(since, path_contains=f"/jobs/{created.name}", method="PUT")
    assert put["status"] == 201
    assert created.status == "Starting"

    ours = call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/{created.name}").json()
    props = ours["properties"]
    assert set(ours) == RECORDED_RESOURCE_FIELDS
    assert set(props) >= RECORDED_COMMAND_JOB_PROPERTIES, RECORDED_COMMAND_JOB_PROPERTIES - set(props)
    assert {key: props[key] for key in RECORDED_UNSET_JOB_PROPERTIES} == RECORDED_UNSET_JOB_PROPERTIES
    assert props["resources"] == RECORDED_RESOURCES
    for service in ("Studio", "Tracking"):
        assert set(props["services"][service]) == RECORDED_SERVICE_FIELDS
        unset = {key: props["services"][service][key] for key in ("port", "status", "errorMessage", "properties")}
        assert unset == dict.fromkeys(unset)
    default = props["outputs"]["default"]
    assert default == {
        **RECORDED_DEFAULT_OUTPUT,
        "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{created.name}",
    }


def test_cancel_statuses_headers_and_bodies(azureml_double, tmp_path: Path) -> None:
    """A running job, [1], entries ``POST .../cancel`` (202, body ``null``, a subscription-scoped
    ``mfeOperationResults/jc:<workspace id>:<job>`` Location, ``x-ms-async-operation-timeout: PT1H``, no
    Retry-After) and two polls (202 ``{}`` with Location and Azure-AsyncOperation, then 200 with no body).
    An ended job, [3]: 200, empty body, no Location."""
    ws = azureml_double.workspace_scope
    running = submit(azureml_double, tmp_path, "import time\ntime.sleep(120)\n")
    azureml_double.wait_for_job(running.name, statuses=("Running",))

    first = call(azureml_double, "POST", f"{ws}/jobs/{running.name}/cancel")

    assert first.status_code == 202
    assert first.text == "null"
    assert "Retry-After" not in first.headers
    assert first.headers["x-ms-async-operation-timeout"] == "PT1H"
    location = first.headers["Location"].split(azureml_double.base_url, 1)[1].split("?")[0]
    assert re.fullmatch(
        r"/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices/locations/[^/]+"
        r"/mfeOperationResults/jc:[^:/]+:" + re.escape(running.name),
        location,
    )
    statuses: list[int] = []
    deadline = time.monotonic() + 60  # the job would sleep 120 s more: the operation must end first
    while True:
        assert time.monotonic() < deadline, f"the cancel operation did not end: {statuses}"
        poll = call(azureml_double, "GET", location)
        statuses.append(poll.status_code)
        if poll.status_code != 202:
            break
        assert poll.json() == {}
        assert "Retry-After" not in poll.headers
        assert poll.headers["Azure-AsyncOperation"] and poll.headers["Location"]
        time.sleep(0.2)  # between polls of a condition bounded by the deadline above
    assert statuses[-1] == 200 and poll.content == b""

    again = call(azureml_double, "POST", f"{ws}/jobs/{running.name}/cancel")  # the job has ended now
    assert again.status_code == 200
    assert again.content == b"" and "Location" not in again.headers


def test_datastore_and_its_secret_have_the_recorded_shape(azureml_double) -> None:
    """[2]: GET workspaceblobstore; POST listSecrets with ``{"expirableSecret": true, "expireAfterHours": 1}``
    answering a ``Sas`` secret."""
    ws = azureml_double.workspace_scope
    ours = call(azureml_double, "GET", f"{ws}/datastores/workspaceblobstore").json()
    assert set(ours) == RECORDED_RESOURCE_FIELDS
    assert set(ours["properties"]) == {
        "accountName",
        "containerName",
        "credentials",
        "datastoreType",
        "description",
        "endpoint",
        "isDefault",
        "properties",
        "protocol",
        "resourceGroup",
        "serviceDataAccessAuthIdentity",
        "subscriptionId",
        "tags",
    }
    assert ours["properties"]["credentials"] == {"credentialsType": "AccountKey"}

    secret = call(
        azureml_double,
        "POST",
        f"{ws}/datastores/workspaceblobstore/listSecrets",
        {"expirableSecret": True, "expireAfterHours": 1},
    ).json()
    assert set(secret) == {"sasToken", "secretsType"}
    assert secret["secretsType"] == "Sas"
    assert secret["sasToken"].startswith("?") and "sig=" in secret["sasToken"]


def test_environment_version_put_defaults(azureml_double) -> None:
    """[1], entry ``PUT environments/test_873112401532/versions/foo``: 201 with ``autoRebuild: Disabled``."""
    body = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"}}
    path = f"{azureml_double.workspace_scope}/environments/conf-{uuid.uuid4().hex[:6]}/versions/1"

    put = call(azureml_double, "PUT", path, body)

    assert put.status_code == 201
    assert put.json()["properties"]["autoRebuild"] == "Disabled"
    recorded = {
        "autoRebuild",
        "environmentType",
        "image",
        "isAnonymous",
        "isArchived",
        "osType",
        "properties",
        "provisioningState",
        "stage",
    }  # and autoDeleteSetting, condaFile, description, intellectualProperty, tags (not emulated)
    assert set(put.json()["properties"]) >= recorded, recorded - set(put.json()["properties"])


def test_environment_that_azure_would_refuse_is_refused(azureml_double) -> None:
    path = f"{azureml_double.workspace_scope}/environments/bad/versions/1"
    both = call(azureml_double, "PUT", path, {"properties": {"image": "a:1", "build": {"contextUri": "x"}}})
    conda = call(azureml_double, "PUT", path, {"properties": {"image": "a:1", "condaFile": "dependencies: 3"}})
    assert both.status_code == conda.status_code == 400
    assert conda.json()["error"]["code"] == "UserError" and "dependencies" in conda.json()["error"]["message"]


def test_missing_workspace_is_arms_gateway_404(azureml_double) -> None:
    """[4]: 404 ``{"error": {"code": "ResourceNotFound", "message": ...}}`` and ``x-ms-failure-cause: gateway``."""
    ours = call(azureml_double, "GET", azureml_double.workspace_scope.rsplit("/", 1)[0] + "/nope")
    assert ours.status_code == 404
    assert set(ours.json()) == {"error"}
    assert set(ours.json()["error"]) == {"code", "message"}
    assert ours.json()["error"]["code"] == "ResourceNotFound"
    assert ours.headers["x-ms-failure-cause"] == "gateway"


def test_missing_job_is_the_management_front_ends_404(azureml_double) -> None:
    """[5]: ``x-ms-response-type: error``, ``error.code: UserError``, ``details: []`` and ``additionalInfo``
    starting with ``{"type": "ComponentName", "info": {"value": "managementfrontend"}}``."""
    ours = call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/no-such-job-{uuid.uuid4().hex[:6]}")
    assert ours.status_code == 404
    assert ours.headers["x-ms-response-type"] == "error"
    error = ours.json()["error"]
    assert error["code"] == "UserError" and error["details"] == []
    assert error["additionalInfo"][0] == {"type": "ComponentName", "info": {"value": "managementfrontend"}}
