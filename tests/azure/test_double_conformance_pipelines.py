"""The double answers pipeline-job exchanges as Azure ML did in recorded ones: the recorded requests are sent
again (ids and computes made the double's) and the answers compared field by field where Azure fixes them.

Sources (public recordings made by the Azure SDK's own test suite of the live service), all under
``python/sdk/ml/azure-ai-ml/tests/recordings/`` in Azure/azure-sdk-assets:

[P1] @ 0f205ad0ccc3172a5f53d86f21c9f2a79da41099 (azure-ai-ml 1.32.0, 2026-03-26),
     dsl/e2etests/test_dsl_pipeline.pyTestDSLPipelinetest_pipeline_reuse.json: ``PUT components/azureml_anonymous/
     versions/779f9d31-…``, ``PUT jobs/<pipeline>`` (201), its GET 31 s later, ``GET history/…/runs/<pipeline>/
     children`` (the second child reused)
[P2] @ 101248d8db5a19fc144dfd18c989d629cbfc21b5 (azure-ai-ml 1.12.0, 2023-10-27),
     dsl/e2etests/test_dsl_pipeline.pyTestDSLPipelinetest_get_child_job.json: ``GET jobs/<child runId>`` then
     ``GET history/…/runs/<child runId>``; the final GET of the pipeline (``azureml.pipelines.stages``)
[P3] @ 101248d8db5a19fc144dfd18c989d629cbfc21b5,
     dsl/e2etests/test_dsl_pipeline.pyTestDSLPipelinetest_output_setting_path.json:
     ``POST jobs/<pipeline>/cancel`` of an ended pipeline (400)
[P4] @ 0f205ad0ccc3172a5f53d86f21c9f2a79da41099,
     dsl/e2etests/test_dsl_pipeline.pyTestDSLPipelinetest_pipeline_force_rerun.json
     (and @ 2909d3d143db4b5d34920f04cae4b759daaefa63 for ``azureml.enforceRerun: "True"``)
[P5] @ 0f205ad0ccc3172a5f53d86f21c9f2a79da41099,
     dsl/e2etests/test_dsl_pipeline.pyTestDSLPipelinetest_command_component_create_with_output.json:
     a node output bound to a pipeline output sent without a path
[P6] @ 6873a4bb4509b5c29e33fee00254e4fae61e859b (azure-ai-ml 1.32.0, 2026-02-27),
     pipeline_job/e2etests/test_pipeline_job.pyTestPipelineJobLongRunningtest_pipeline_job_download.json:
     ``POST history/…/rundata`` of a failed pipeline
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.waiting import wait_until

pytestmark = pytest.mark.azure

# [P1] the component PUT's componentSpec, as sent
RECORDED_COMPONENT_SPEC = {
    "command": "echo Hello World & echo $[[${{inputs.component_in_number}}]] & echo ${{inputs.component_in_path}} & "
    "echo ${{outputs.component_out_path}} > ${{outputs.component_out_path}}/component_in_number",
    "environment": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
    "name": "test_123724332721",
    "description": "This is the basic command component",
    "tags": {"tag": "tagvalue", "owner": "sdkteam"},
    "version": "0.0.1",
    "$schema": "https://azuremlschemas.azureedge.net/development/commandComponent.schema.json",
    "display_name": "CommandComponentBasic",
    "is_deterministic": True,
    "inputs": {
        "component_in_number": {"type": "number", "optional": True, "default": "10.99", "description": "A number"},
        "component_in_path": {"type": "uri_folder", "description": "A path"},
    },
    "outputs": {"component_out_path": {"type": "uri_folder"}},
    "type": "command",
    "_source": "YAML.COMPONENT",
}
# [P1] ... and as the service answered it
RECORDED_COMPONENT_SPEC_ANSWER = {
    "$schema": "https://azuremlschemas.azureedge.net/development/commandComponent.schema.json",
    "name": "test_123724332721",
    "version": "0.0.1",
    "display_name": "CommandComponentBasic",
    "is_deterministic": "True",
    "type": "command",
    "description": "This is the basic command component",
    "tags": {"tag": "tagvalue", "owner": "sdkteam"},
    "inputs": {
        "component_in_path": {"type": "uri_folder", "optional": "False", "description": "A path"},
        "component_in_number": {"type": "number", "optional": "True", "default": "10.99", "description": "A number"},
    },
    "outputs": {"component_out_path": {"type": "uri_folder"}},
    "environment": "azureml://registries/azureml/environments/AzureML-sklearn-1.0-ubuntu20.04-py38-cpu/versions/33",
    "resources": {"instance_count": "1"},
    "command": RECORDED_COMPONENT_SPEC["command"],
}
# [P1] the 12 keys of a running pipeline (values Azure fixes, and what it read from the job)
RECORDED_PIPELINE_PROPERTIES = {
    "azureml.DevPlatv2": "true",
    "azureml.DatasetAccessMode": "Asset",
    "azureml.runsource": "azureml.PipelineRun",
    "runSource": "MFE",
    "runType": "HTTP",
    "azureml.parameters": '{"job_in_number":"8174388","job_in_other_number":"8174388"}',
    "azureml.continue_on_step_failure": "True",
    "azureml.continue_on_failed_optional_input": "True",
    "azureml.enforceRerun": "False",
    "azureml.defaultComputeName": "cpu-cluster",
    "azureml.defaultDataStoreName": "workspaceblobstore",
    "azureml.pipelineComponent": "pipelinerun",
}
# [P1] every key of a child in the children listing
RECORDED_CHILD_RUN_KEYS = {
    "runNumber", "rootRunId", "createdUtc", "createdBy", "userId", "token", "tokenExpiryTimeUtc", "error",
    "warnings", "revision", "statusRevision", "runUuid", "parentRunUuid", "rootRunUuid", "lastStartTimeUtc",
    "currentComputeTime", "computeDuration", "effectiveStartTimeUtc", "lastModifiedBy", "lastModifiedUtc",
    "duration", "cancelationReason", "currentAttemptId", "runId", "parentRunId", "experimentId", "status",
    "startTimeUtc", "endTimeUtc", "scheduleId", "displayName", "name", "dataContainerId", "description", "hidden",
    "runType", "runTypeV2", "properties", "parameters", "actionUris", "scriptName", "target",
    "uniqueChildRunComputeTargets", "tags", "settings", "services", "inputDatasets", "outputDatasets",
    "runDefinition", "jobSpecification", "primaryMetricName", "createdFrom", "cancelUri", "completeUri",
    "diagnosticsUri", "computeRequest", "compute", "retainForLifetimeOfWorkspace", "queueingInfo", "inputs",
    "outputs",
}  # fmt: skip
RECORDED_STEP_PROPERTY_KEYS = {
    "azureml.DevPlatv2", "azureml.DatasetAccessMode", "StepType", "ComputeTargetType", "azureml.moduleid",
    "azureml.moduleFamilyId", "azureml.moduleName", "azureml.moduleVersion", "azureml.runsource", "azureml.nodeid",
    "azureml.pipelinerunid", "azureml.pipeline", "azureml.rootpipelinerunid", "azureml.pipelineComponent",
    "_azureml.ComputeTargetType", "_azureml.ClusterName", "ProcessInfoFile", "ProcessStatusFile",
}  # fmt: skip
REUSE_MARKERS = {
    "azureml.isreused",
    "azureml.reusedrunid",
    "azureml.reusednodeid",
    "azureml.reusedpipeline",
    "azureml.reusedpipelinerunid",
}


def call(double: Any, method: str, path: str, body: Any = None, api: str = "2024-01-01-preview") -> Any:
    import requests

    return requests.request(
        method,
        double.base_url + path,
        json=body,
        headers={"Authorization": "Bearer t"},
        params={"api-version": api},
        timeout=30,
    )


def put_component(double: Any, spec: dict[str, Any]) -> Any:
    url_version = str(uuid.uuid4())
    body = {
        "properties": {"properties": {}, "tags": {}, "isAnonymous": True, "isArchived": False, "componentSpec": spec}
    }
    return call(double, "PUT", f"{double.workspace_scope}/components/azureml_anonymous/versions/{url_version}", body)


def recorded_pipeline(double: Any, component_id: str, **settings: Any) -> dict[str, Any]:
    """[P1]'s pipeline PUT body, with the double's workspace ids (two nodes running the recorded component)."""
    compute = f"{double.workspace_scope}/computes/cpu-cluster"

    def node(name: str, number_input: str) -> dict[str, Any]:
        return {
            "name": name,
            "type": "command",
            "inputs": {
                "component_in_number": {"job_input_type": "literal", "value": f"${{{{parent.inputs.{number_input}}}}}"},
                "component_in_path": {"job_input_type": "literal", "value": "${{parent.inputs.job_in_path}}"},
            },
            "_source": "YAML.COMPONENT",
            "componentId": component_id,
        }

    return {
        "properties": {
            "description": "The hello world pipeline job",
            "properties": {},
            "tags": {"owner": "sdkteam", "tag": "tagvalue"},
            "computeId": compute,
            "displayName": "test_501316807186",
            "experimentName": "dsl_pipeline_e2e",
            "isArchived": False,
            "jobType": "Pipeline",
            "inputs": {
                "job_in_number": {"jobInputType": "literal", "value": "8174388"},
                "job_in_other_number": {"jobInputType": "literal", "value": "8174388"},
                "job_in_path": {
                    "uri": "https://dprepdata.blob.core.windows.net/demo/Titanic.csv",
                    "jobInputType": "uri_file",
                },
            },
            "jobs": {
                "test_123724332721": node("test_123724332721", "job_in_number"),
                "test_123724332721_1": node("test_123724332721_1", "job_in_other_number"),
            },
            "outputs": {},
            "settings": {"_source": "DSL", **settings},
        }
    }


def ended(double: Any, name: str) -> dict[str, Any]:
    path = f"{double.workspace_scope}/jobs/{name}"
    return wait_until(
        lambda: (got := call(double, "GET", path).json())["properties"]["status"] in ("Completed", "Failed") and got,
        180,
        f"pipeline {name} to end",
    )


def test_anonymous_component_put_answers_a_server_id_and_the_normalised_spec(azureml_double) -> None:
    """[P1] component PUT: 201, ``Location`` = the URL's version, body ``name``/``id`` a different GUID, spec
    normalised; a second PUT of the same URL version answers 201 with the same version."""
    url_version = "779f9d31-d7a0-598a-0776-cdeb24ebc6ec-" + uuid.uuid4().hex[:6]
    path = f"{azureml_double.workspace_scope}/components/azureml_anonymous/versions/{url_version}"
    body = {
        "properties": {
            "description": "This is the basic command component",
            "properties": {},
            "tags": {"tag": "tagvalue", "owner": "sdkteam"},
            "isAnonymous": True,
            "isArchived": False,
            "componentSpec": RECORDED_COMPONENT_SPEC,
        }
    }

    first = call(azureml_double, "PUT", path, body)
    again = call(azureml_double, "PUT", path, body)

    assert first.status_code == again.status_code == 201
    assert first.headers["Location"].split("?")[0] == azureml_double.base_url + path
    answer = first.json()
    assert answer["name"] != url_version and answer["id"].endswith(f"/versions/{answer['name']}")
    assert uuid.UUID(answer["name"])
    assert again.json()["name"] == answer["name"]
    assert answer["type"] == "Microsoft.MachineLearningServices/workspaces/components/versions"
    props = answer["properties"]
    assert props["componentSpec"] == RECORDED_COMPONENT_SPEC_ANSWER
    assert {
        k: props[k]
        for k in ("description", "isAnonymous", "isArchived", "autoDeleteSetting", "provisioningState", "stage")
    } == {
        "description": None,
        "isAnonymous": True,
        "isArchived": False,
        "autoDeleteSetting": None,
        "provisioningState": "Succeeded",
        "stage": "Development",
    }
    got = call(azureml_double, "GET", answer["id"])
    assert got.status_code == 200 and got.json()["name"] == answer["name"]


def test_pipeline_put_echoes_the_body_and_get_adds_the_servers_properties(azureml_double) -> None:
    """[P1] PUT 201 + Location, ``NotStarted``, ``properties {}``, ``jobs``/``settings`` echoed verbatim, inputs
    with ``description: null`` (uri: ``mode``/``pathOnCompute``), ``outputs {}``; later the 12 keys; [P2] once
    ended ``azureml.pipelines.stages``."""
    component = put_component(azureml_double, RECORDED_COMPONENT_SPEC).json()
    body = recorded_pipeline(azureml_double, component["id"])
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    path = f"{azureml_double.workspace_scope}/jobs/{name}"

    put = call(azureml_double, "PUT", path, body)

    assert put.status_code == 201
    assert put.headers["Location"].split("?")[0] == azureml_double.base_url + path
    props = put.json()["properties"]
    assert (props["status"], props["properties"], props["outputs"]) == ("NotStarted", {}, {})
    assert props["jobs"] == body["properties"]["jobs"] and props["settings"] == {"_source": "DSL"}
    assert props["inputs"] == {
        "job_in_number": {"description": None, "jobInputType": "literal", "value": "8174388"},
        "job_in_other_number": {"description": None, "jobInputType": "literal", "value": "8174388"},
        "job_in_path": {
            "description": None,
            "uri": "https://dprepdata.blob.core.windows.net/demo/Titanic.csv",
            "mode": "ReadOnlyMount",
            "pathOnCompute": None,
            "jobInputType": "uri_file",
        },
    }
    unset = ("identity", "componentId", "notificationSetting", "secretsConfiguration", "sourceJobId")
    assert {key: props[key] for key in unset} == dict.fromkeys(unset)
    assert (props["jobType"], props["isArchived"], sorted(props["services"])) == (
        "Pipeline",
        False,
        ["Studio", "Tracking"],
    )

    done = ended(azureml_double, name)["properties"]

    assert done["status"] == "Completed"
    stages = done["properties"].pop("azureml.pipelines.stages")
    assert done["properties"] == RECORDED_PIPELINE_PROPERTIES
    assert '"Initialization":null' in stages.replace(" ", "") and '"Status":"Finished"' in stages.replace(" ", "")
    assert done["jobs"] == body["properties"]["jobs"]


def test_children_are_step_runs_and_a_step_has_no_properties_on_mfe(azureml_double) -> None:
    """[P1] the children listing (a reused child carries the reuse markers); [P2] ``GET jobs/<child>`` answers
    ``id``, ``name``, ``type``, ``systemData`` only, and run history the same Run as the listing."""
    component = put_component(azureml_double, RECORDED_COMPONENT_SPEC | {"name": f"c{uuid.uuid4().hex[:6]}"}).json()
    body = recorded_pipeline(azureml_double, component["id"])
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body)
    ended(azureml_double, name)

    children = call(
        azureml_double, "GET", f"/history/v1.0{azureml_double.workspace_scope}/runs/{name}/children", api="v1.0"
    )

    assert children.status_code == 200 and set(children.json()) == {"value"}
    runs = children.json()["value"]
    assert [run["displayName"] for run in runs] == ["test_123724332721", "test_123724332721_1"]  # by createdUtc
    for run in runs:
        assert set(run) == RECORDED_CHILD_RUN_KEYS
        assert (run["runType"], run["parentRunId"], run["rootRunId"], run["name"]) == (
            "azureml.StepRun",
            name,
            name,
            component["properties"]["componentSpec"]["name"],
        )
        assert set(run["properties"]) >= RECORDED_STEP_PROPERTY_KEYS
        assert run["properties"]["azureml.moduleid"] == component["name"]
        assert (
            len(run["properties"]["azureml.nodeid"]) == 8
            and run["tags"]["azureml.nodeid"] == run["properties"]["azureml.nodeid"]
        )
        assert run["target"] == "cpu-cluster" and (run["inputs"], run["outputs"]) == (None, None)
    # the same inputs twice in one pipeline: the second node reuses the first (as in [P1])
    first, second = runs
    assert REUSE_MARKERS.isdisjoint(first["properties"])
    assert second["properties"]["azureml.isreused"] == "true"
    assert second["properties"]["azureml.reusedrunid"] == first["runId"]
    assert second["dataContainerId"] == first["dataContainerId"] == f"dcid.{first['runId']}"
    assert second["runTypeV2"] == {
        "orchestrator": None,
        "traits": ["azureml.StepRun"],
        "attribution": None,
        "computeType": None,
    }
    assert second["startTimeUtc"] == second["endTimeUtc"] and second["duration"] == "00:00:00"

    step = call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/{second['runId']}")
    assert step.status_code == 200 and set(step.json()) == {"id", "name", "type", "systemData"}
    history = call(azureml_double, "GET", f"/history/v1.0{azureml_double.workspace_scope}/runs/{second['runId']}")
    assert history.json()["properties"] == second["properties"] and history.json()["status"] == "Completed"


def test_force_rerun_shows_only_as_enforce_rerun(azureml_double) -> None:
    """[P4]: ``settings.force_rerun`` is echoed and read as ``azureml.enforceRerun: "True"``."""
    component = put_component(azureml_double, RECORDED_COMPONENT_SPEC).json()
    body = recorded_pipeline(azureml_double, component["id"], continue_on_step_failure=True, force_rerun=True)
    name = f"pipe-{uuid.uuid4().hex[:8]}"

    put = call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body)

    assert put.json()["properties"]["settings"] == {
        "_source": "DSL",
        "continue_on_step_failure": True,
        "force_rerun": True,
    }
    assert ended(azureml_double, name)["properties"]["properties"]["azureml.enforceRerun"] == "True"


def test_a_pipeline_output_sent_without_a_path_stays_without_one(azureml_double) -> None:
    """[P5]: ``outputs.job_out_data`` comes back with ``uri: null`` and ``mode: ReadWriteMount``."""
    component = put_component(azureml_double, RECORDED_COMPONENT_SPEC).json()
    body = recorded_pipeline(azureml_double, component["id"])
    body["properties"]["outputs"] = {"job_out_data": {"jobOutputType": "uri_folder"}}
    node = body["properties"]["jobs"]["test_123724332721_1"]
    node["outputs"] = {"component_out_path": {"value": "${{parent.outputs.job_out_data}}", "type": "literal"}}
    name = f"pipe-{uuid.uuid4().hex[:8]}"

    put = call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body)

    recorded = {
        "description": None,
        "uri": None,
        "assetName": None,
        "assetVersion": None,
        "mode": "ReadWriteMount",
        "pathOnCompute": None,
        "autoDeleteSetting": None,
        "jobOutputType": "uri_folder",
    }
    assert put.json()["properties"]["outputs"] == {"job_out_data": recorded}
    assert ended(azureml_double, name)["properties"]["outputs"] == {"job_out_data": recorded}


def test_a_failed_pipeline_reports_its_failed_nodes_and_cannot_be_cancelled(azureml_double) -> None:
    """[P6] rundata of a failed pipeline: ``PipelineHasStepJobFailed`` naming the failed nodes; [P3] cancelling
    an ended pipeline: 400 with the InnerError chain."""
    spec = copy.deepcopy(RECORDED_COMPONENT_SPEC) | {"command": "exit 7", "name": f"c{uuid.uuid4().hex[:6]}"}
    component = put_component(azureml_double, spec).json()
    body = recorded_pipeline(azureml_double, component["id"])
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body)
    assert ended(azureml_double, name)["properties"]["status"] == "Failed"

    rundata = call(
        azureml_double, "POST", f"/history/v1.0{azureml_double.workspace_scope}/rundata", {"runId": name}, api="v1.0"
    ).json()["runMetadata"]
    cancel = call(
        azureml_double, "POST", f"{azureml_double.workspace_scope}/jobs/{name}/cancel", api="2023-04-01-preview"
    )

    assert (rundata["runType"], rundata["name"], rundata["dataContainerId"]) == (
        "azureml.PipelineRun",
        None,
        f"dcid.{name}",
    )
    assert rundata["runTypeV2"]["orchestrator"] == "Pipeline"
    error = rundata["error"]["error"]
    assert (error["code"], error["referenceCode"], error["messageFormat"]) == (
        "UserError",
        "PipelineHasStepJobFailed",
        "Pipeline has failed child jobs. {0}",
    )
    assert error["message"].startswith("Pipeline has failed child jobs. Failed nodes: /test_123724332721")
    assert cancel.status_code == 400 and cancel.headers["x-ms-response-type"] == "error"
    refused = cancel.json()["error"]
    assert (refused["code"], refused["message"]) == (
        "UserError",
        f"The pipeline run {name} is in terminal status, it can't be canceled.",
    )
    assert refused["additionalInfo"][0] == {"type": "ComponentName", "info": {"value": "managementfrontend"}}
    inner = next(item["info"]["value"] for item in refused["additionalInfo"] if item["type"] == "InnerError")
    assert inner == {
        "code": "BadArgument",
        "innerError": {
            "code": "ArgumentInvalid",
            "innerError": {"code": "CancelPipelineRunInTerminalStatus", "innerError": None},
        },
    }


def test_a_binding_to_an_output_no_node_has_is_refused_at_put(azureml_double) -> None:
    """Not recorded: the double refuses it at the PUT (400 UserError) rather than failing a step later."""
    component = put_component(azureml_double, RECORDED_COMPONENT_SPEC).json()
    body = recorded_pipeline(azureml_double, component["id"])
    inputs = body["properties"]["jobs"]["test_123724332721_1"]["inputs"]
    inputs["component_in_path"]["value"] = "${{parent.jobs.test_123724332721.outputs.nope}}"

    put = call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/pipe-{uuid.uuid4().hex[:8]}", body)

    assert put.status_code == 400 and put.json()["error"]["code"] == "UserError"
    assert "test_123724332721 has no such output" in put.json()["error"]["message"]
