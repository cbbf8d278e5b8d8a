"""A pipeline job and its steps as the double keeps them, and the shapes Azure ML answers for them.

Both are emulated-compute jobs (``compute.Job``) kept in the workspace's ``jobs``, so the job, cancel,
run-history, log and test-only routes serve them like command jobs; what differs is here, each shape after
Azure ML's recorded answers (the sources [P1]-[P6] of ``tests/azure/test_double_conformance_pipelines.py``):

- :class:`PipelineJob`: the MFE body echoes the PUT's ``jobs`` and ``settings``, ``properties`` gains the
  ``azureml.*`` keys once it runs (``azureml.pipelines.stages`` once it ends), no ``outputs.default``;
  its run-history run is an ``azureml.PipelineRun`` with ``logFiles: {}``.
- :class:`StepJob`: a child run (``azureml.StepRun``, a GUID ``runId``, parent and root = the pipeline);
  ``GET jobs/<step>`` answers only ``id``, ``name``, ``type``, ``systemData`` (the SDK then reads run history).
  It runs as a command job whose named outputs go to the datastore when it finalizes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from tests.azureml_double.job import TERMINAL, Job
from tests.azureml_double.storage import Storage

JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"
# Recorded on every pipeline ([P1]), next to ones read from the job itself.
PIPELINE_FIXED_PROPERTIES = {
    "azureml.DevPlatv2": "true",
    "azureml.DatasetAccessMode": "Asset",
    "azureml.runsource": "azureml.PipelineRun",
    "runSource": "MFE",
    "runType": "HTTP",
}
STEP_FIXED_PROPERTIES = {
    "azureml.DevPlatv2": "true",
    "azureml.DatasetAccessMode": "Asset",
    "StepType": "PythonScriptStep",
    "ComputeTargetType": "AmlCompute",
    "azureml.moduleFamilyId": "0",
    "azureml.runsource": "azureml.StepRun",
    "azureml.pipelineComponent": "masterescloud",
    "_azureml.ComputeTargetType": "amlctrain",
    "ProcessInfoFile": "azureml-logs/process_info.json",
    "ProcessStatusFile": "azureml-logs/process_status.json",
}
USER = {"userObjectId": "00000000-0000-0000-0000-000000000000", "userName": "double@example.invalid"}


def _utc(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _duration(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def setting_on(settings: dict[str, Any], key: str, default: bool) -> bool:
    """A pipeline setting read as the service does (``settings`` is free-form: bools or their text)."""
    value = settings.get(key)
    if value is None:
        return default
    return str(value).lower() == "true"


class PipelineJob(Job):
    """A submitted pipeline job. ``steps`` maps node keys to the steps started so far."""

    def __init__(self, ws: Any, name: str, body: dict[str, Any], base_url: str, log_sig: str) -> None:
        super().__init__(ws, name, body, base_url, log_sig)
        self.status = "NotStarted"
        self.steps: dict[str, StepJob] = {}
        self.failed_nodes: list[str] = []
        self.output_locations: dict[str, str] = {}  # pipeline output -> where its data is (azureml:// uri)
        self.origin_properties: dict[str, str] = {}  # who started it, over the fixed ones (a schedule: runSource)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.props.get("settings") or {})

    @property
    def default_compute(self) -> str | None:
        cid = self.settings.get("default_compute") or self.props.get("computeId")
        return str(cid).rstrip("/").split("/")[-1] if cid else None

    def server_properties(self) -> dict[str, str]:
        """``properties.properties`` once the service has read the job ([P1], [P4])."""
        props = dict(self.props.get("properties") or {})
        if self.status == "NotStarted":
            return props
        literals = {
            k: v.get("value") for k, v in (self.props.get("inputs") or {}).items() if v.get("jobInputType") == "literal"
        }
        settings = self.settings
        props.update(PIPELINE_FIXED_PROPERTIES)
        props.update(
            {
                "azureml.parameters": json.dumps(literals, separators=(",", ":")),
                "azureml.continue_on_step_failure": str(setting_on(settings, "continue_on_step_failure", True)),
                "azureml.continue_on_failed_optional_input": "True",
                "azureml.enforceRerun": str(setting_on(settings, "force_rerun", False)),
                "azureml.defaultComputeName": self.default_compute or "",
                "azureml.defaultDataStoreName": "workspaceblobstore",
                "azureml.pipelineComponent": "pipelinerun",
            }
        )
        if self.end_time is not None:
            stage = {"Completed": "Finished"}.get(self.status, self.status)
            execution = {"StartTime": _utc(self.start_time), "EndTime": _utc(self.end_time), "Status": stage}
            props["azureml.pipelines.stages"] = json.dumps({"Initialization": None, "Execution": execution})
        props.update(self.origin_properties)
        return props

    def to_rest(self) -> dict[str, Any]:
        props = dict(self.props)
        inputs = {}
        for key, sent in (props.get("inputs") or {}).items():
            uri_extras = (
                {"mode": "ReadOnlyMount", "pathOnCompute": None} if sent.get("jobInputType") != "literal" else {}
            )
            inputs[key] = {"description": None, **uri_extras, **sent}
        outputs = {}
        for key, item in (props.get("outputs") or {}).items():
            blank = {"description": None, "uri": None, "assetName": None, "assetVersion": None}
            outputs[key] = {**blank, "mode": "ReadWriteMount", "pathOnCompute": None, "autoDeleteSetting": None, **item}
        tracking = f"azureml://{self.base_url.split('://', 1)[1]}/mlflow/v2.0{self.ws.scope}"
        unset = {"port": None, "status": None, "errorMessage": None, "properties": None, "nodes": None}
        props.update(
            {
                "status": self.visible_status,
                "properties": self.server_properties(),
                "isArchived": False,
                "identity": None,
                "componentId": None,
                "notificationSetting": None,
                "secretsConfiguration": None,
                "sourceJobId": None,
                "computeId": props.get("computeId"),
                "description": props.get("description"),
                "experimentName": self.experiment_name,
                "displayName": props.get("displayName") or self.name,
                "inputs": inputs,
                "outputs": outputs,
                "services": {
                    "Tracking": {"jobServiceType": "Tracking", "endpoint": tracking, **unset},
                    "Studio": {
                        "jobServiceType": "Studio",
                        "endpoint": f"https://ml.azure.com/runs/{self.name}?wsid={self.ws.arm_id}",
                        **unset,
                    },
                },
            }
        )
        return {
            "id": self.arm_id,
            "name": self.name,
            "type": JOB_TYPE,
            "properties": props,
            "systemData": {
                "createdAt": _utc(self.created),
                "createdBy": "double@example.invalid",
                "createdByType": "User",
            },
        }

    def pipeline_error(self) -> dict[str, Any] | None:
        """``PipelineHasStepJobFailed`` as recorded ([P6])."""
        if self.status != "Failed":
            return self.error
        failed = ", ".join(f"/{node}" for node in self.failed_nodes)
        message = (
            f"Pipeline has failed child jobs. Failed nodes: {failed}. For more details and logs, please go to the "
            "job detail page and check the child jobs."
        )
        return {
            "error": {
                "code": "UserError",
                "severity": None,
                "message": message,
                "messageFormat": "Pipeline has failed child jobs. {0}",
                "messageParameters": {},
                "referenceCode": "PipelineHasStepJobFailed",
                "detailsUri": None,
                "target": None,
                "details": [],
                "innerError": None,
                "debugInfo": None,
                "additionalInfo": None,
            },
            "correlation": None,
            "environment": self.ws.location,
            "location": self.ws.location,
            "time": _utc(self.end_time),
            "componentName": "",
        }

    def run_details(self, base_url: str) -> dict[str, Any]:
        status = self.visible_status
        return {
            "runId": self.name,
            "rootRunId": self.name,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arm_id)),
            "parentRunUuid": None,
            "rootRunUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arm_id)),
            "parentRunId": None,
            "status": status,
            "createdTimeUtc": _utc(self.created),
            "createdUtc": _utc(self.created),
            "startTimeUtc": _utc(self.start_time),
            "endTimeUtc": _utc(self.end_time) if status in TERMINAL else None,
            "duration": _duration(self.start_time, self.end_time),
            "error": self.pipeline_error(),
            "warnings": None,
            "displayName": self.props.get("displayName") or self.name,
            "name": None,
            "dataContainerId": f"dcid.{self.name}",
            "runType": "azureml.PipelineRun",
            "runTypeV2": {
                "orchestrator": "Pipeline",
                "traits": ["azureml.PipelineRun", "MFE", "HTTP", "DevPlatv2"],
                "attribution": None,
                "computeType": None,
            },
            "target": None,
            "uniqueChildRunComputeTargets": sorted({s.compute_name or "" for s in list(self.steps.values())}),
            "tags": dict(self.props.get("tags") or {}),
            "properties": self.server_properties(),
            "parameters": {},
            "settings": {},
            "services": {},
            "retainForLifetimeOfWorkspace": False,
            "inputs": {},
            "outputs": None,
            "logFiles": {},
            "runDefinition": None,
        }

    def read_log(self, name: str) -> str | None:
        return None

    def log_names(self) -> list[str]:
        return []

    def internal(self) -> dict[str, Any]:
        return {
            **super().internal(),
            "kind": "pipeline",
            "steps": {node: step.name for node, step in dict(self.steps).items()},  # a copy: the runner adds
            "failed_nodes": list(self.failed_nodes),
            "output_locations": dict(self.output_locations),
        }


class StepJob(Job):
    """One step (node) of a pipeline: a child run that runs a command job, or reuses an earlier step."""

    def __init__(
        self,
        pipeline: PipelineJob,
        run_id: str,
        node: str,
        props: dict[str, Any],
        component: dict[str, Any],
        reuse_key: str,
    ) -> None:
        super().__init__(pipeline.ws, run_id, {"properties": props}, pipeline.base_url, pipeline.log_sig)
        self.status = "NotStarted"
        self.pipeline = pipeline
        self.node = node
        self.component = component
        self.reuse_key = reuse_key
        self.node_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{pipeline.name}/{node}").hex[:8]
        self.reused_from: StepJob | None = None
        self.output_locations: dict[str, tuple[str, str]] = {}  # output -> (container, blob prefix)
        self.mlflow_tags = {"mlflow.parentRunId": pipeline.name, "azureml.pipeline": pipeline.name}

    def keep_named_outputs(self, storage: Storage) -> None:
        """Upload each named output folder to its place in the datastore (``azureml/<step>/<output>/``)."""
        if self.scratch is None:
            return
        for output, (container, prefix) in self.output_locations.items():
            folder = self.scratch / "outputs" / output
            files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
            for path in files:
                storage.upload_file(container, f"{prefix}/{path.relative_to(folder).as_posix()}", path)

    def to_rest(self) -> dict[str, Any]:
        """What MFE answers for a step ([P2]): no ``properties`` at all."""
        return {
            "id": self.arm_id,
            "name": self.name,
            "type": JOB_TYPE,
            "systemData": {
                "createdAt": _utc(self.created),
                "createdBy": "double@example.invalid",
                "createdByType": "User",
            },
        }

    def properties(self) -> dict[str, str]:
        spec = self.component["properties"]["componentSpec"]
        props = {
            **STEP_FIXED_PROPERTIES,
            "azureml.moduleid": self.component["name"],
            "azureml.moduleName": str(spec.get("name", "azureml_anonymous")),
            "azureml.moduleVersion": str(spec.get("version", "1")),
            "azureml.nodeid": self.node_id,
            "azureml.pipelinerunid": self.pipeline.name,
            "azureml.pipeline": self.pipeline.name,
            "azureml.rootpipelinerunid": self.pipeline.name,
            "_azureml.ClusterName": self.compute_name or "",
        }
        original = self.reused_from
        if original is not None:
            props.update(
                {
                    "azureml.isreused": "true",
                    "azureml.reusedrunid": original.name,
                    "azureml.reusednodeid": original.node_id,
                    "azureml.reusedpipeline": original.pipeline.name,
                    "azureml.reusedpipelinerunid": original.pipeline.name,
                }
            )
        return props

    def step_error(self) -> dict[str, Any] | None:
        if not self.error:
            return None
        inner = self.error.get("error") or {}
        return {
            "error": {
                "code": inner.get("code", "UserError"),
                "severity": None,
                "message": inner.get("message", ""),
                "messageFormat": None,
                "messageParameters": {},
                "referenceCode": None,
                "detailsUri": None,
                "target": None,
                "details": [],
                "innerError": None,
                "debugInfo": None,
                "additionalInfo": None,
            },
            "correlation": None,
            "environment": None,
            "location": None,
            "time": "0001-01-01T00:00:00+00:00",
            "componentName": "CommonRuntime",
        }

    def run(self) -> dict[str, Any]:
        """The step as run history lists it ([P1], [P2])."""
        status = self.visible_status
        original = self.reused_from
        container_run = original.name if original is not None else self.name
        cancel_uri = f"{self.base_url}/studioservice/apiv2{self.ws.arm_id}/runs/{self.name}/Cancel"
        executed = original is None
        traits = ["azureml.StepRun", "scriptRun", "remote", "AlmostCommonRuntime", "OsType:Linux"]
        pipeline_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, self.pipeline.arm_id))
        compute = self.compute_name
        return {
            "runNumber": int(self.created.timestamp()),
            "rootRunId": self.pipeline.name,
            "createdUtc": _utc(self.created),
            "createdBy": USER,
            "userId": USER["userObjectId"],
            "token": None,
            "tokenExpiryTimeUtc": None,
            "error": self.step_error(),
            "warnings": None,
            "revision": 1,
            "statusRevision": 0,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arm_id)),
            "parentRunUuid": pipeline_uuid,
            "rootRunUuid": pipeline_uuid,
            "lastStartTimeUtc": None,
            "currentComputeTime": "00:00:00",
            "computeDuration": _duration(self.start_time, self.end_time) if status in TERMINAL else None,
            "effectiveStartTimeUtc": None,
            "lastModifiedBy": USER,
            "lastModifiedUtc": _utc(self.end_time or self.start_time or self.created),
            "duration": _duration(self.start_time, self.end_time) if status in TERMINAL else None,
            "cancelationReason": None,
            "currentAttemptId": 1,
            "runId": self.name,
            "parentRunId": self.pipeline.name,
            "experimentId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.ws.arm_id}/experiments/{self.experiment_name}")),
            "status": status,
            "startTimeUtc": _utc(self.start_time),
            "endTimeUtc": _utc(self.end_time) if status in TERMINAL else None,
            "scheduleId": None,
            "displayName": self.node,
            "name": str(self.component["properties"]["componentSpec"].get("name", "azureml_anonymous")),
            "dataContainerId": f"dcid.{container_run}",
            "description": None,
            "hidden": False,
            "runType": "azureml.StepRun",
            "runTypeV2": {
                "orchestrator": "Execution" if executed else None,
                "traits": traits if executed else ["azureml.StepRun"],
                "attribution": "Aether" if executed else None,
                "computeType": "AmlcTrain" if executed else None,
            },
            "properties": self.properties(),
            "parameters": {},
            "actionUris": {"Cancel": cancel_uri},
            "scriptName": None,
            "target": compute,
            "uniqueChildRunComputeTargets": [],
            "tags": {"azureml.nodeid": self.node_id, "azureml.pipeline": self.pipeline.name},
            "settings": {},
            "services": {},
            "inputDatasets": [],
            "outputDatasets": [],
            "runDefinition": None,
            "jobSpecification": None,
            "primaryMetricName": None,
            "createdFrom": None,
            "cancelUri": cancel_uri,
            "completeUri": None,
            "diagnosticsUri": None,
            "computeRequest": {"nodeCount": self.instance_count, "gpuCount": 0} if executed else None,
            "compute": (
                {
                    "target": compute,
                    "targetType": "amlcompute",
                    "vmSize": None,
                    "instanceType": None,
                    "instanceCount": self.instance_count,
                    "gpuCount": 0,
                    "priority": None,
                    "region": None,
                    "armId": None,
                    "properties": None,
                }
                if executed
                else None
            ),
            "retainForLifetimeOfWorkspace": None,
            "queueingInfo": None,
            "inputs": None,
            "outputs": None,
        }

    def run_details(self, base_url: str) -> dict[str, Any]:
        """Run history's details of the step: its run plus the log files of the command it ran (a reused step's
        are the original's: it shares its data container)."""
        logs = Job.run_details(self.reused_from or self, base_url)["logFiles"]
        return {**self.run(), "createdTimeUtc": _utc(self.created), "logFiles": logs}

    def internal(self) -> dict[str, Any]:
        return {
            **super().internal(),
            "kind": "step",
            "pipeline": self.pipeline.name,
            "node": self.node,
            "reused_from": self.reused_from.name if self.reused_from else None,
            "output_locations": {k: f"{c}/{p}" for k, (c, p) in self.output_locations.items()},
        }
