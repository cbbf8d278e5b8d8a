"""A sweep job and its trials as the double keeps them, and the shapes Azure ML answers for them.

The sweep's shape follows the recorded PUT/GET ([W1]: ``sweep_put_and_get.json``, the sources listed in
``tests/azure/test_double_conformance_sweeps.py``): 201 ``Running`` at once, the ``_aml_system_*`` tags, the
HyperDrive properties, ``objective.goal`` capitalised, ``samplingAlgorithm`` given ``seed``/``logbase``/``rule``,
``limits`` given ``trialTimeout``, ``earlyTermination`` echoed (``null`` when absent), the trial's
``azureml:<name>:<version>`` environment as the workspace's ARM id, services Studio only, and ``outputs.default``
in ``workspaceartifactstore``. Nothing about trials or the end of a sweep is recorded: what the double does there
is after azure-ai-ml's source (``best_child_run_id``, ``constants/_common.py``) and is listed in
``docs/azureml-double.md``.

- :class:`SweepJob`: the parent; it runs no process (``sweep_runner.py`` starts its trials).
- :class:`TrialJob`: one trial, a command job of the emulated compute named ``<sweep>_<n>``, its MLflow run a
  child of the sweep's (``mlflow.parentRunId``), its sampled values as literal ``inputs``.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

from tests.azureml_double.job import TERMINAL, Job

SWEEP_FIXED_PROPERTIES = {
    "resume_from": "null",
    "runTemplate": "HyperDrive",
    "azureml.runsource": "hyperdrive",
    "platform": "AML",
    "user_agent": "managementfrontend/azureml-double",
}
UNSET_RESOURCES = {
    "instanceCount": 1,
    "maxInstanceCount": None,
    "instanceType": None,
    "locations": None,
    "properties": None,
    "shmSize": "2g",
    "dockerArgs": None,
}
SHORT_ENVIRONMENT = re.compile(r"azureml:([^:/@]+):([^:/@]+)")
SEARCH_REFERENCE = re.compile(r"\$\{\{\s*search_space\.(\w+)\s*\}\}")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def policy_config(policy: dict[str, Any] | None) -> dict[str, Any]:
    """``_aml_system_policy_config``: ``Default`` without a policy, else its type and snake_case settings ([W1])."""
    if not policy:
        return {"name": "Default", "properties": {}}
    properties = {_snake(k): v for k, v in policy.items() if k != "policyType"}
    if policy.get("policyType") == "TruncationSelection":
        properties.setdefault("exclude_finished_jobs", False)
    return {"name": policy.get("policyType"), "properties": properties}


def value_text(value: Any) -> str:
    """A sampled value as it is written into the trial's command (numbers as JSON, strings as they are)."""
    return value if isinstance(value, str) else json.dumps(value)


class SweepJob(Job):
    """A submitted sweep job: ``trials`` holds the trials started so far, in order."""

    def __init__(self, ws: Any, name: str, body: dict[str, Any], base_url: str, log_sig: str) -> None:
        super().__init__(ws, name, body, base_url, log_sig)
        self.status = "Running"  # as recorded: the PUT already answers Running ([W1])
        self.trials: list[TrialJob] = []
        self.all_generated = False
        self.best: tuple[str, float] | None = None  # (trial name, objective)
        self.space_size: int | None = None

    @property
    def search_space(self) -> dict[str, list[Any]]:
        return dict(self.props.get("searchSpace") or {})

    @property
    def sampling(self) -> dict[str, Any]:
        return {"seed": None, "logbase": None, "rule": "Random", **dict(self.props.get("samplingAlgorithm") or {})}

    @property
    def limits(self) -> dict[str, Any]:
        return {"trialTimeout": None, **dict(self.props.get("limits") or {})}

    @property
    def objective(self) -> dict[str, Any]:
        sent = dict(self.props.get("objective") or {})
        return {**sent, "goal": str(sent.get("goal", "")).capitalize()}

    def trial_environment(self) -> str:
        """The trial's environment id, an ``azureml:<name>:<version>`` shorthand as the workspace's ARM id ([W1])."""
        sent = str((self.props.get("trial") or {}).get("environmentId") or "")
        short = SHORT_ENVIRONMENT.fullmatch(sent)
        if short is None:
            return sent
        return f"{self.ws.arm_id}/environments/{short.group(1)}/versions/{short.group(2)}"

    def system_tags(self) -> dict[str, str]:
        limits = self.limits
        timeout = str(limits.get("timeout") or "")
        minutes = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", timeout)
        duration = "null"
        if minutes and timeout != "PT":
            hours, mins, secs = (int(part or 0) for part in minutes.groups())
            duration = str(hours * 60 + mins + secs // 60)
        sampling = self.sampling
        generator = {
            "name": str(sampling.get("samplingAlgorithmType", "Random")).upper(),
            "parameter_space": self.search_space,
            "properties": {"rule": sampling["rule"], "logbase": sampling["logbase"], "seed": sampling["seed"]},
        }
        objective = dict(self.props.get("objective") or {})
        metric = {"name": objective.get("primaryMetric"), "goal": objective.get("goal")}
        return {
            "_aml_system_max_concurrent_jobs": str(limits.get("maxConcurrentTrials")),
            "_aml_system_max_total_jobs": str(limits.get("maxTotalTrials")),
            "_aml_system_max_duration_minutes": duration,
            "_aml_system_policy_config": _compact(policy_config(self.props.get("earlyTermination"))),
            "_aml_system_generator_config": _compact(generator),
            "_aml_system_primary_metric_config": _compact(metric),
            "_aml_system_resume_child_runs": "null",
            "_aml_system_all_jobs_generated": str(self.all_generated).lower(),
            "_aml_system_cancellation_requested": str(self.cancel_requested).lower(),
            "_aml_system_samples_generated_count": str(len(self.trials)),
        }

    def server_properties(self) -> dict[str, str]:
        """The recorded HyperDrive properties; once a trial has scored, the best one (azure-ai-ml reads
        ``best_child_run_id``: ``jobs.download`` of a sweep fetches that trial's outputs)."""
        objective = dict(self.props.get("objective") or {})
        props = {
            **dict(self.props.get("properties") or {}),
            "primary_metric_config": _compact({"name": objective.get("primaryMetric"), "goal": objective.get("goal")}),
            **SWEEP_FIXED_PROPERTIES,
            "ContentSnapshotId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.arm_id}/snapshot")),
        }
        props["space_size"] = "infinite space" if self.space_size is None else str(self.space_size)
        if self.best is not None:
            props.update(
                {"best_child_run_id": self.best[0], "score": repr(self.best[1]), "best_metric_status": "Succeeded"}
            )
        return props

    def to_rest(self) -> dict[str, Any]:
        sent = copy.deepcopy(self.props)
        trial = dict(sent.get("trial") or {})
        trial.update(
            {
                "environmentId": self.trial_environment(),
                "environmentVariables": trial.get("environmentVariables") or {},
                "distribution": trial.get("distribution"),
                "resources": {**UNSET_RESOURCES, **dict(trial.get("resources") or {})},
            }
        )
        outputs = {
            "default": {
                "description": None,
                "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{self.name}",
                "assetName": None,
                "assetVersion": None,
                "mode": "ReadWriteMount",
                "pathOnCompute": None,
                "autoDeleteSetting": None,
                "jobOutputType": "uri_folder",
            },
            **dict(sent.get("outputs") or {}),
        }
        studio = f"https://ml.azure.com/runs/{self.name}?wsid={self.ws.arm_id}"
        unset = {"port": None, "status": None, "errorMessage": None, "properties": None, "nodes": None}
        sent.update(
            {
                "description": sent.get("description"),
                "tags": {**dict(sent.get("tags") or {}), **self.system_tags()},
                "properties": self.server_properties(),
                "displayName": sent.get("displayName") or self.name,
                "status": self.visible_status,
                "experimentName": self.experiment_name,
                "services": {"Studio": {"jobServiceType": "Studio", "endpoint": studio, **unset}},
                "isArchived": False,
                "identity": sent.get("identity"),
                "componentId": None,
                "notificationSetting": None,
                "secretsConfiguration": None,
                "samplingAlgorithm": self.sampling,
                "limits": self.limits,
                "earlyTermination": sent.get("earlyTermination"),
                "objective": self.objective,
                "trial": trial,
                "inputs": sent.get("inputs") or {},
                "outputs": outputs,
                "queueSettings": sent.get("queueSettings") or {"jobTier": "Null", "priority": None},
                "resources": {**UNSET_RESOURCES, **dict(sent.get("resources") or {})},
                "componentConfiguration": None,
            }
        )
        return {
            "id": self.arm_id,
            "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": sent,
            "systemData": {
                "createdAt": self.created.isoformat(),
                "createdBy": "double@example.invalid",
                "createdByType": "User",
            },
        }

    def run_details(self, base_url: str) -> dict[str, Any]:
        details = super().run_details(base_url)
        details.update(
            {
                "tags": self.to_rest()["properties"]["tags"],
                "properties": self.server_properties(),
                "runType": "hyperdrive",
                "logFiles": {},
                "runDefinition": None,
            }
        )
        return details

    def log_names(self) -> list[str]:
        return []

    def internal(self) -> dict[str, Any]:
        return {
            **super().internal(),
            "kind": "sweep",
            "trials": [trial.name for trial in list(self.trials)],
            "best": list(self.best) if self.best else None,
        }


class TrialJob(Job):
    """One trial of a sweep: a command job with the sampled values in its command and ``inputs``."""

    def __init__(self, sweep: SweepJob, number: int, values: dict[str, Any]) -> None:
        trial = dict(sweep.props.get("trial") or {})
        command = SEARCH_REFERENCE.sub(lambda found: value_text(values[found.group(1)]), str(trial.get("command")))
        props = {
            "jobType": "Command",
            "command": command,
            "codeId": trial.get("codeId"),
            "environmentId": sweep.trial_environment(),
            "environmentVariables": dict(trial.get("environmentVariables") or {}),
            "distribution": trial.get("distribution"),
            "resources": dict(trial.get("resources") or {}),
            "computeId": sweep.props.get("computeId"),
            "experimentName": sweep.experiment_name,
            "displayName": f"{sweep.name}_{number}",
            "inputs": {
                **dict(sweep.props.get("inputs") or {}),
                **{name: {"jobInputType": "literal", "value": value_text(v)} for name, v in values.items()},
            },
            "tags": {},
        }
        super().__init__(sweep.ws, f"{sweep.name}_{number}", {"properties": props}, sweep.base_url, sweep.log_sig)
        self.status = "NotStarted"
        self.sweep = sweep
        self.number = number
        self.values = dict(values)
        self.objective: float | None = None
        self.mlflow_tags = {"mlflow.parentRunId": sweep.name}

    def run(self) -> dict[str, Any]:
        """The trial as run history lists a sweep's children (``jobs.list(parent_job_name=…)``)."""
        status = self.visible_status
        return {
            "runId": self.name,
            "rootRunId": self.sweep.name,
            "parentRunId": self.sweep.name,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arm_id)),
            "parentRunUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.sweep.arm_id)),
            "createdUtc": self.created.isoformat(),
            "startTimeUtc": self.start_time.isoformat() if self.start_time else None,
            "endTimeUtc": self.end_time.isoformat() if self.end_time and status in TERMINAL else None,
            "status": status,
            "displayName": self.name,
            "name": None,
            "dataContainerId": f"dcid.{self.name}",
            "runType": "azureml.scriptrun",
            "target": self.compute_name,
            "error": self.error,
            "tags": {},
            "properties": {"azureml.runsource": "azureml.CommandJob", "mlflow.runId": self.mlflow_run_id or ""},
            "inputs": None,
            "outputs": None,
        }

    def internal(self) -> dict[str, Any]:
        return {**super().internal(), "kind": "trial", "sweep": self.sweep.name, "values": dict(self.values)}
