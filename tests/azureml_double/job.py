"""A submitted job as the REST APIs show it: its status (emulated or forced), its ARM body, its run history."""

from __future__ import annotations

import copy
import subprocess
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.azureml_double.artifact_store import default_output
from tests.azureml_double.routing import iso, utcnow

TERMINAL = ("Completed", "Failed", "Canceled")
RECORDED_JOB_DEFAULTS: dict[str, Any] = {
    "description": None,
    "parentJobName": None,
    "identity": None,
    "componentId": None,
    "notificationSetting": None,
    "distribution": None,
    "limits": None,
    "environmentVariables": {},
    "parameters": {},
    "inputs": {},
    "queueSettings": {"jobTier": "Null"},
}
RESOURCES_DEFAULT = {
    "instanceCount": 1,
    "instanceType": None,
    "properties": None,
    "shmSize": "2g",
    "dockerArgs": None,
    "dockerArgsList": None,
}


class Job:
    def __init__(self, ws: Any, name: str, body: dict, base_url: str, log_sig: str) -> None:
        self.ws = ws
        self.name = name
        self.body = body
        self.props: dict = dict(body.get("properties") or {})
        self.created = utcnow()
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.status = "Starting"
        self.forced_status: str | None = None  # set by tests (``force_job_status``): what the API reports
        self.error: dict | None = None
        self.exit_code: int | None = None
        self.pid: int | None = None
        self.pgid: int | None = None  # rank 0's process group
        self.pgids: list[int] = []  # one per process ("node")
        self.proc: subprocess.Popen | None = None
        self.scratch: Path | None = None
        self.log_path: Path | None = None
        self.mlflow_run_id: str | None = None
        self.mlflow_experiment_id: str | None = None
        self.cancel_requested = False
        self.finished = threading.Event()
        self.base_url = base_url
        self.log_sig = log_sig
        self.command_resolved: str | None = None
        self.python_bin: Path | None = None  # the job's own interpreter (None: the test venv's)
        self.tmp: Path | None = None  # the job's TMPDIR, removed when it ends
        self.lock = threading.Lock()

    @property
    def experiment_name(self) -> str:
        return self.props.get("experimentName") or "Default"

    @property
    def compute_name(self) -> str | None:
        cid = self.props.get("computeId")
        return cid.rstrip("/").split("/")[-1] if cid else None

    @property
    def arm_id(self) -> str:
        return f"{self.ws.arm_id}/jobs/{self.name}"

    def to_rest(self) -> dict:
        props = dict(self.props)
        props["status"] = self.visible_status
        props.setdefault("jobType", "Command")
        props.setdefault("experimentName", self.experiment_name)
        props.setdefault("displayName", self.name)
        props["isArchived"] = False
        for key, default in RECORDED_JOB_DEFAULTS.items():  # as recorded: tests/test_double_conformance.py [1]
            props.setdefault(key, copy.deepcopy(default))
        props["resources"] = {**RESOURCES_DEFAULT, **dict(props.get("resources") or {})}
        tracking = f"azureml://{self.base_url.split('://', 1)[1]}/mlflow/v2.0{self.ws.scope}"
        services = dict(props.get("services") or {})
        unset = {"port": None, "status": None, "errorMessage": None, "properties": None, "nodes": None}
        services["Tracking"] = {"jobServiceType": "Tracking", "endpoint": tracking, **unset}
        services["Studio"] = {
            "jobServiceType": "Studio",
            "endpoint": f"https://ml.azure.com/runs/{self.name}?wsid={self.ws.arm_id}",
            **unset,
        }
        props["services"] = services
        props["outputs"] = {"default": default_output(self.name), **dict(props.get("outputs") or {})}
        extra = dict(props.get("properties") or {})
        extra.setdefault("_azureml.ComputeTargetType", "amlctrain")
        if self.mlflow_run_id:
            extra["mlflow.runId"] = self.mlflow_run_id
        props["properties"] = extra
        return {
            "id": self.arm_id,
            "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": props,
            "systemData": {
                "createdAt": iso(self.created),
                "createdBy": "double@example.invalid",
                "createdByType": "User",
            },
        }

    @property
    def instance_count(self) -> int:
        return int((self.props.get("resources") or {}).get("instanceCount") or 1)

    @property
    def distribution(self) -> str | None:
        """``PyTorch``, ``Mpi``, ``TensorFlow`` or None."""
        return (self.props.get("distribution") or {}).get("distributionType")

    @property
    def visible_status(self) -> str:
        """What the job and run-history APIs report: a status a test forced, else the emulated one."""
        return self.forced_status or self.status

    @property
    def ended(self) -> bool:
        return self.visible_status in TERMINAL

    def run_details(self, base_url: str) -> dict:
        logs = {
            name: f"{base_url}/_logs/{self.ws.workspace_id}/{self.name}/{name}?sig={self.log_sig}"
            for name in self.log_names()
        }
        status = self.visible_status
        return {
            "runId": self.name,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arm_id)),
            "status": status,
            "target": self.compute_name,
            "createdTimeUtc": iso(self.created),
            "startTimeUtc": iso(self.start_time),
            "endTimeUtc": iso(self.end_time) if status in TERMINAL else None,
            "error": self.error,
            "warnings": [],
            "tags": dict(self.props.get("tags") or {}),
            "properties": {"azureml.runsource": "azureml.CommandJob", "mlflow.runId": self.mlflow_run_id or ""},
            "logFiles": logs,
            "runDefinition": {"command": self.props.get("command"), "environmentId": self.props.get("environmentId")},
        }

    def log_names(self) -> list[str]:
        """``user_logs/std_log.txt``, or one ``user_logs/std_log_process_<rank>.txt`` per process."""
        if self.scratch is None or not (self.scratch / "user_logs").is_dir():
            return []
        return sorted(f"user_logs/{p.name}" for p in (self.scratch / "user_logs").iterdir() if p.is_file())

    def read_log(self, name: str) -> str | None:
        if name not in self.log_names() or self.scratch is None:
            return None
        return (self.scratch / name).read_text(errors="replace")

    def internal(self) -> dict:
        alive = None
        if self.pid is not None:
            alive = self.proc is not None and self.proc.poll() is None
        return {
            "name": self.name,
            "status": self.status,
            "reported_status": self.visible_status,
            "compute": self.compute_name,
            "experiment_name": self.experiment_name,
            "environment_id": self.props.get("environmentId"),
            "code_id": self.props.get("codeId"),
            "command": self.props.get("command"),
            "command_resolved": self.command_resolved,
            "python_bin": str(self.python_bin) if self.python_bin else None,
            "pid": self.pid,
            "pgid": self.pgid,
            "process_alive": alive,
            "exit_code": self.exit_code,
            "scratch_dir": str(self.scratch) if self.scratch else None,
            "log_path": str(self.log_path) if self.log_path else None,
            "mlflow_run_id": self.mlflow_run_id,
            "mlflow_experiment_id": self.mlflow_experiment_id,
            "error": self.error,
        }
