"""The double answers as Azure ML did in the recordings of ``../shared/azure-ml-recordings/`` (real responses
captured by the Azure SDK and PowerShell test suites): status by status, and field by field for the bodies
the plugin and the SDK read. Values differ (names, ids, times); the fields and the statuses must not."""

from __future__ import annotations

import json
import re
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.azure

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [ROOT.parent / "shared" / "azure-ml-recordings", ROOT.parents[1] / "shared" / "azure-ml-recordings"]


def recording(name: str) -> Any:
    folder = next((c for c in CANDIDATES if c.is_dir()), None)
    if folder is None:
        pytest.fail(f"the recordings are missing: expected one of {[str(c) for c in CANDIDATES]}")
    return json.loads((folder / name).read_text())


def keys(value: Any) -> set[str]:
    return {k for k in value if not k.startswith("_")} if isinstance(value, dict) else set()


def call(double, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    import requests

    return requests.request(
        method,
        double.base_url + path,
        json=body,
        headers={"Authorization": "Bearer t"},
        params={"api-version": "2024-10-01"},
        timeout=30,
    )


def submit(double, tmp_path: Path, script: str):  # type: ignore[no-untyped-def]
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment

    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    (code / "main.py").write_text(textwrap.dedent(script))
    job = command(code=str(code), command="python main.py", compute="cpu-cluster", environment=Environment(image="i:1"))
    return double.ml_client().jobs.create_or_update(job)


def test_job_put_and_get_have_the_recorded_fields_and_status(azureml_double, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real = recording("job_put_201_command_cluster_starting.json")
    since = azureml_double.last_seq()
    created = submit(azureml_double, tmp_path, "print('x')\n")
    (put,) = azureml_double.requests(since, path_contains=f"/jobs/{created.name}", method="PUT")
    assert put["status"] == real["response"]["status"]

    ours = call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/{created.name}").json()
    props, real_props = ours["properties"], real["response"]["body"]["properties"]
    assert keys(ours) == keys(real["response"]["body"])
    assert keys(props) >= keys(real_props), keys(real_props) - keys(props)
    assert keys(props["resources"]) == keys(real_props["resources"])
    assert keys(props["services"]["Studio"]) == keys(real_props["services"]["Studio"])
    default, real_default = props["outputs"]["default"], real_props["outputs"]["default"]
    assert keys(default) == keys(real_default)
    assert default["uri"] == f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{created.name}"
    assert {k: default[k] for k in ("mode", "jobOutputType")} == {k: real_default[k] for k in ("mode", "jobOutputType")}
    assert created.status == real_props["status"] == "Starting"


def test_cancel_statuses_headers_and_bodies(azureml_double, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lro = recording("job_cancel_202_lro.json")["exchanges"]
    ended = recording("job_cancel_already_terminal_200.json")
    ws = azureml_double.workspace_scope

    running = submit(azureml_double, tmp_path, "import time\ntime.sleep(120)\n")
    azureml_double.wait_for_job(running.name, statuses=("Running",))
    first = call(azureml_double, "POST", f"{ws}/jobs/{running.name}/cancel")
    assert first.status_code == lro[0]["response"]["status"] == 202
    assert first.text == lro[0]["response"]["body_raw"] == "null"
    assert "Retry-After" not in first.headers and "Retry-After" not in lro[0]["response"]["headers"]
    assert (
        first.headers["x-ms-async-operation-timeout"] == lro[0]["response"]["headers"]["x-ms-async-operation-timeout"]
    )
    operation = (
        r"/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices"
        r"/locations/[^/]+/mfeOperationResults/jc:[^:/]+:"
    )
    real_location = lro[0]["response"]["headers"]["Location"].split("management.azure.com", 1)[1].split("?")[0]
    ours_location = first.headers["Location"].split(azureml_double.base_url, 1)[1].split("?")[0]
    assert re.fullmatch(operation + r"test_781131835858", real_location)
    assert re.fullmatch(operation + re.escape(running.name), ours_location)
    statuses = []
    while True:
        poll = call(azureml_double, "GET", ours_location)
        statuses.append(poll.status_code)
        if poll.status_code == 200:
            break
        assert poll.json() == lro[1]["response"]["body"] == {}
        assert poll.headers["Azure-AsyncOperation"] and poll.headers["Location"]
    assert statuses[-1] == lro[-1]["response"]["status"] == 200 and set(statuses) <= {200, 202}

    again = call(azureml_double, "POST", f"{ws}/jobs/{running.name}/cancel")  # the job has ended now
    assert again.status_code == ended["response"]["status"] == 200
    assert again.content == b"" and "Location" not in again.headers


def test_datastore_and_its_secret_have_the_recorded_shape(azureml_double) -> None:  # type: ignore[no-untyped-def]
    real = recording("datastore_get_and_listsecrets.json")
    ws = azureml_double.workspace_scope
    ours = call(azureml_double, "GET", f"{ws}/datastores/workspaceblobstore").json()
    assert keys(ours) == keys(real["get"]["response"]["body"])
    assert keys(ours["properties"]) == keys(real["get"]["response"]["body"]["properties"])
    assert ours["properties"]["credentials"] == real["get"]["response"]["body"]["properties"]["credentials"]
    secret = call(
        azureml_double,
        "POST",
        f"{ws}/datastores/workspaceblobstore/listSecrets",
        real["listSecrets"]["request"]["body"],
    ).json()
    assert keys(secret) == keys(real["listSecrets"]["response"]["body"])
    real_secret = real["listSecrets"]["response"]["body"]
    assert secret["secretsType"] == real_secret["secretsType"] == "Sas"
    assert secret["sasToken"].startswith("?") and "sig=" in secret["sasToken"] and "sig=" in real_secret["sasToken"]


def test_environment_version_put_defaults(azureml_double) -> None:  # type: ignore[no-untyped-def]
    real = recording("environment_version_put_201_and_latest_list.json")
    real_put = real["put"]
    body = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"}}
    put = call(
        azureml_double,
        "PUT",
        f"{azureml_double.workspace_scope}/environments/conf-{uuid.uuid4().hex[:6]}/versions/1",
        body,
    )
    assert put.status_code == real_put["response"]["status"] == 201
    assert (
        put.json()["properties"]["autoRebuild"]
        == real_put["response"]["body"]["properties"]["autoRebuild"]
        == "Disabled"
    )
    assert keys(put.json()["properties"]) >= keys(real_put["response"]["body"]["properties"]) - {
        "autoDeleteSetting",
        "intellectualProperty",
        "condaFile",
        "description",
        "tags",
        "build",
        "inferenceConfig",
    }


def test_environment_that_azure_would_refuse_is_refused(azureml_double) -> None:  # type: ignore[no-untyped-def]
    path = f"{azureml_double.workspace_scope}/environments/bad/versions/1"
    both = call(azureml_double, "PUT", path, {"properties": {"image": "a:1", "build": {"contextUri": "x"}}})
    conda = call(azureml_double, "PUT", path, {"properties": {"image": "a:1", "condaFile": "dependencies: 3"}})
    assert both.status_code == conda.status_code == 400
    assert conda.json()["error"]["code"] == "UserError" and "dependencies" in conda.json()["error"]["message"]


def test_missing_workspace_is_arms_gateway_404(azureml_double) -> None:  # type: ignore[no-untyped-def]
    real = recording("workspace_get_404_arm.json")["response"]
    ours = call(azureml_double, "GET", azureml_double.workspace_scope.rsplit("/", 1)[0] + "/nope")
    assert ours.status_code == real["status"] == 404
    assert keys(ours.json()["error"]) == keys(real["body"]["error"]) == {"code", "message"}
    assert ours.headers["x-ms-failure-cause"] == real["headers"]["x-ms-failure-cause"] == "gateway"
