"""Emulated compute for the double: really runs submitted command jobs on this machine.

A job PUT on a known compute is run in a background thread of the control-plane process:

1. ``Starting`` (the PUT reply, as on Azure) -> ``Preparing`` (download the code snapshot from Azurite into a
   scratch folder; make the job's interpreter from its environment's conda file, see ``job_python.py``) ->
   ``Queued`` -> ``Running``: ``bash -c <command>`` in its own process group, cwd = the snapshot, with the
   environment Azure ML injects into a job (see :meth:`EmulatedCompute.job_env`) -> ``Completed`` /
   ``Failed`` (exit code != 0) / ``Canceled`` (``POST .../cancel`` kills the process group).
2. Before the job starts, an MLflow run is created in the real mlflow server in the job's
   ``experimentName`` (default ``Default``); like Azure ML, its run id **is the job name**. When the
   process ends and the run is still RUNNING, the run is ended FINISHED / FAILED / KILLED.
3. stdout+stderr go to ``user_logs/std_log.txt``, served through run-history ``logFiles`` and copied while the
   job runs (and once more in ``Finalizing``, before the job ends) to ``workspaceartifactstore``
   (``ExperimentRun/dcid.<job>/user_logs/std_log.txt``), where ``jobs.stream`` and ``jobs.download`` read it
   because every job carries ``outputs.default`` (see ``routes_datastores.py``).

A job whose environment has a conda file runs on its own interpreter: a venv holding exactly the conda file's
packages and their dependencies (``job_python.py``); one the double cannot make fails as a failed image build
would. A job whose environment is an image alone (or a registry's, which the double does not hold) runs on the
test venv's interpreter: the double cannot know what an image contains. The environment id is recorded on the job.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.azureml_double.job_python import EnvironmentBuildError, job_python
from tests.ports import free_port

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
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"  # a container's; the job's interpreter is put first
LOG_SHIP_SECONDS = 0.5  # how often a running job's log is copied to the artifact store
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development-storage key (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


# ------------------------------------------------------------------------------------------------ Azurite


class Storage:
    def __init__(self, blob_endpoint: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self.blob_endpoint = blob_endpoint.rstrip("/")  # http://127.0.0.1:P/devstoreaccount1
        self.service = BlobServiceClient(
            account_url=self.blob_endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )

    def container_sas(self, container: str, hours: int = 24) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
            expiry=_now() + timedelta(hours=hours),
            start=_now() - timedelta(minutes=5),
        )

    def new_upload_container(self, prefix: str) -> tuple[str, str]:
        """Like Azure's ``TemporaryBlobReference``: a fresh container and a SAS URI for it."""
        container = f"{prefix}-{uuid.uuid4().hex}"
        self.service.create_container(container)
        blob_uri = f"{self.blob_endpoint}/{container}"
        return blob_uri, f"{blob_uri}?{self.container_sas(container)}"

    def upload_file(self, container: str, blob: str, path: Path) -> None:
        self.ensure_container(container)
        with open(path, "rb") as fh:
            self.service.get_blob_client(container, blob).upload_blob(fh, overwrite=True)

    def ensure_container(self, container: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self.service.create_container(container)

    def blob_sas(self, container: str, blob: str, hours: int = 24) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        return generate_blob_sas(
            AZURITE_ACCOUNT,
            container,
            blob,
            account_key=AZURITE_KEY,
            permission=BlobSasPermissions(read=True, write=True, create=True, add=True),
            expiry=_now() + timedelta(hours=hours),
            start=_now() - timedelta(minutes=5),
        )

    def https_blob_sas_url(self, base_url: str, container: str, blob: str) -> str:
        """A SAS URL through the control plane's HTTPS blob front (shaped like a real storage URL)."""
        quoted = urllib.parse.quote(blob)
        return f"{base_url}/_blob/{AZURITE_ACCOUNT}.blob.core.windows.net/{container}/{quoted}?" + self.blob_sas(
            container, blob
        )

    def forward(self, method: str, target: str, body: bytes, headers: Any) -> tuple[int, bytes, dict]:
        """Forward one blob REST call to Azurite, verbatim (used by the HTTPS blob front)."""
        parsed = urllib.parse.urlsplit(self.blob_endpoint)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        skip = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "authorization"}
        out_headers = {k: v for k, v in headers.items() if k.lower() not in skip}
        try:
            conn.request(method, target, body=body if body or method in ("PUT", "POST") else None, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            dropped = ("transfer-encoding", "connection", "keep-alive", "server", "date")
            if method != "HEAD":
                dropped += ("content-length",)
            reply = {k: v for k, v in resp.getheaders() if k.lower() not in dropped}
            return resp.status, data, reply
        finally:
            conn.close()

    def split_uri(self, uri: str) -> tuple[str, str]:
        """(container, prefix) of a blob URI in any of the shapes the SDK produces."""
        parsed = urllib.parse.urlsplit(uri.split("?", maxsplit=1)[0])
        parts = [p for p in parsed.path.split("/") if p]
        if parts and parts[0] == AZURITE_ACCOUNT:
            parts = parts[1:]
        if not parts:
            raise ValueError(f"no container in blob uri {uri!r}")
        return parts[0], "/".join(parts[1:])

    def download_prefix(self, container: str, prefix: str, dest: Path) -> int:
        cc = self.service.get_container_client(container)
        prefix = prefix.strip("/")
        count = 0
        for blob in cc.list_blobs(name_starts_with=prefix + "/" if prefix else None):
            rel = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
            if not rel or rel.endswith("/"):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                cc.download_blob(blob.name).readinto(fh)
            count += 1
        if count == 0:  # a single-file code asset: the prefix is the blob itself
            bc = cc.get_blob_client(prefix)
            if bc.exists():
                target = dest / Path(prefix).name
                with open(target, "wb") as fh:
                    bc.download_blob().readinto(fh)
                count = 1
        return count


# ------------------------------------------------------------------------------------------------ MLflow


class MlflowBackend:
    """Raw HTTP to the real ``mlflow server`` behind the double (plain http on 127.0.0.1)."""

    def __init__(self, url: str, db_path: str | None) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.db_path = db_path
        self.lock = threading.Lock()

    def raw(self, method: str, target: str, body: bytes, content_type: str | None) -> tuple[int, bytes, dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            headers = {"Host": f"{self.host}:{self.port}"}
            if content_type:
                headers["Content-Type"] = content_type
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out_headers = {}
            if resp.getheader("Content-Type"):
                out_headers["Content-Type"] = resp.getheader("Content-Type")
            return resp.status, data, out_headers
        except ConnectionError as e:
            from tests.azureml_double._http import HttpError

            raise HttpError(502, "BadGateway", f"mlflow backend unreachable: {e}") from e
        finally:
            conn.close()

    def call(self, method: str, endpoint: str, payload: dict | None = None, query: dict | None = None) -> dict:
        target = "/api/2.0/mlflow/" + endpoint
        if query:
            target += "?" + urllib.parse.urlencode(query)
        body = json.dumps(payload).encode() if payload is not None else b""
        status, data, _ = self.raw(method, target, body, "application/json" if payload is not None else None)
        result = json.loads(data or b"{}")
        if status >= 400:
            raise RuntimeError(f"mlflow {endpoint} -> {status}: {result}")
        return result

    def experiment_id(self, name: str) -> str:
        with self.lock:
            try:
                exp = self.call("GET", "experiments/get-by-name", query={"experiment_name": name})
                return exp["experiment"]["experiment_id"]
            except RuntimeError as e:
                if "RESOURCE_DOES_NOT_EXIST" not in str(e):
                    raise
            return self.call("POST", "experiments/create", {"name": name})["experiment_id"]

    def create_run(self, experiment_id: str, run_id: str, run_name: str, tags: dict[str, str]) -> str:
        """Create a RUNNING run; like Azure ML, try to make its id equal the job name (``run_id``)."""
        created = self.call(
            "POST",
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": int(time.time() * 1000),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
        )["run"]["info"]["run_id"]
        if self.db_path and re.fullmatch(r"[A-Za-z0-9][\w\-]{0,255}", run_id):
            try:
                self._rename_run(created, run_id)
                return run_id
            except Exception as e:  # noqa: BLE001 - fall back to mlflow's own id
                print(f"azureml double: could not give run {created} the job's name {run_id}: {e!r}", flush=True)
        return created

    def _rename_run(self, old: str, new: str) -> None:
        # The double owns this SQLite file; a brand-new run only has rows in ``runs`` and ``tags``.
        con = sqlite3.connect(self.db_path, timeout=30)
        try:
            con.execute("PRAGMA foreign_keys=OFF")
            with con:
                con.execute("UPDATE tags SET run_uuid=? WHERE run_uuid=?", (new, old))
                con.execute(
                    "UPDATE runs SET run_uuid=?, artifact_uri=REPLACE(artifact_uri, ?, ?) WHERE run_uuid=?",
                    (new, old, new, old),
                )
        finally:
            con.close()

    def end_run_if_running(self, run_id: str, status: str) -> None:
        run = self.call("GET", "runs/get", query={"run_id": run_id})["run"]["info"]
        if run.get("status") in ("RUNNING", "SCHEDULED"):
            self.call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)})


# ------------------------------------------------------------------------------------------------ jobs


class Job:
    def __init__(self, ws: Any, name: str, body: dict, base_url: str, log_sig: str) -> None:
        self.ws = ws
        self.name = name
        self.body = body
        self.props: dict = dict(body.get("properties") or {})
        self.created = _now()
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
        self.mlflow_tags: dict[str, str] = {}  # more tags for its MLflow run (a pipeline step's parent run)
        self.lock = threading.Lock()

    def keep_named_outputs(self, storage: Storage) -> None:
        """Called in ``Finalizing``: a pipeline step keeps its named outputs in the datastore (pipeline_jobs.py)."""

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
        from tests.azureml_double.routes_datastores import default_output

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
                "createdAt": _iso(self.created),
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
            "createdTimeUtc": _iso(self.created),
            "startTimeUtc": _iso(self.start_time),
            "endTimeUtc": _iso(self.end_time) if status in TERMINAL else None,
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


class EmulatedCompute:
    def __init__(self, double: Any) -> None:
        self.double = double
        cfg = double.config
        self.storage = Storage(cfg["azurite_blob_endpoint"])
        self.mlflow = MlflowBackend(cfg["mlflow_url"], cfg.get("mlflow_db"))
        self.scratch_root = Path(cfg["scratch_dir"])
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()

    # -------------------------------------------------------------- API used by the routes
    def submit(self, ws: Any, name: str, body: dict) -> tuple[Job, bool]:
        from tests.azureml_double._http import HttpError

        existing = ws.jobs.get(name)
        if existing is not None:
            # Azure only lets a few mutable fields change (tags, description, displayName...).
            props = body.get("properties") or {}
            for key in ("tags", "description", "displayName"):
                if key in props:
                    existing.props[key] = props[key]
            return existing, False
        props = body.get("properties") or {}
        job_type = props.get("jobType", "Command")
        if job_type != "Command":
            raise HttpError(400, "UserError", f"azureml double: only Command jobs are emulated, not {job_type}")
        compute_id = props.get("computeId")
        compute = compute_id.rstrip("/").split("/")[-1] if compute_id else None
        if not compute or compute.lower() not in ws.computes:
            raise HttpError(
                400,
                "UserError",
                f"Compute '{compute}' was not found in workspace '{ws.name}'. Known: {sorted(ws.computes)}",
            )
        job = Job(ws, name, body, self.double.base_url, self.double.config["log_sig"])
        forced_failure = self.double.faults.take_job_failure()
        with self.double.lock:
            ws.jobs[name] = job
        t = threading.Thread(target=self._run, args=(job, forced_failure), name=f"job-{name}", daemon=True)
        self.threads.append(t)
        t.start()
        return job, True

    def cancel(self, job: Job) -> None:
        with job.lock:
            if job.status in TERMINAL:
                return
            job.cancel_requested = True
            job.forced_status = None  # cancelling a job stuck in a forced status really ends it
            if job.status == "Running":
                job.status = "CancelRequested"
            # before Running the runner sees the flag before starting the process
            pgids = list(job.pgids)
        for pgid in pgids:
            self._kill_group(pgid, job)

    def reset_state(self) -> None:
        for ws in self.double.workspaces.values():
            for job in list(ws.jobs.values()):
                if job.status not in TERMINAL:
                    self.cancel(job)
            with self.double.lock:
                ws.jobs.clear()
                ws.codes.clear()
                ws.environments.clear()
                ws.data.clear()

    def shutdown(self) -> None:
        self.stopping.set()
        for ws in self.double.workspaces.values():
            for job in list(ws.jobs.values()):
                if job.status not in TERMINAL:
                    for pgid in job.pgids:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(pgid, signal.SIGKILL)

    # -------------------------------------------------------------- the runner
    def job_env(self, job: Job) -> dict[str, str]:
        d = self.double
        ws = job.ws
        # A job starts from a clean container environment, not from the control plane's (no test-process
        # PATH, venv or credentials): a home, a locale, the system PATH, then what Azure ML injects.
        home = job.scratch / "home" if job.scratch else Path("/tmp")
        home.mkdir(parents=True, exist_ok=True)
        # A container's temporary folder is /tmp: short enough for AF_UNIX socket paths (108 bytes), which a
        # folder inside the test's scratch directory is not.
        job.tmp = job.tmp or Path(tempfile.mkdtemp(prefix="aml-", dir="/tmp"))
        env = {"HOME": str(home), "TMPDIR": str(job.tmp), "LANG": "C.UTF-8", "PATH": SYSTEM_PATH}
        env.update(d.config.get("job_base_env") or {})
        if job.python_bin is not None:  # the job's own interpreter instead of the test venv's
            env["PATH"] = os.pathsep.join([str(job.python_bin), SYSTEM_PATH])
        token, _ = _mint_run_token(d, ws)
        env.update(
            {
                "MLFLOW_TRACKING_URI": d.tracking_uri(ws),
                "MLFLOW_RUN_ID": job.mlflow_run_id or "",
                "MLFLOW_EXPERIMENT_ID": job.mlflow_experiment_id or "",
                "MLFLOW_EXPERIMENT_NAME": job.experiment_name,
                "MLFLOW_TRACKING_TOKEN": token,
                "AZUREML_RUN_TOKEN": token,
                "AZUREML_RUN_ID": job.name,
                "AZUREML_ROOT_RUN_ID": job.name,
                "AZUREML_ARM_SUBSCRIPTION": ws.subscription_id,
                "AZUREML_ARM_RESOURCEGROUP": ws.resource_group,
                "AZUREML_ARM_WORKSPACE_NAME": ws.name,
                "AZUREML_ARM_PROJECT_NAME": job.experiment_name,
                "AZUREML_EXPERIMENT_ID": job.mlflow_experiment_id or "",
                "AZUREML_WORKSPACE_ID": ws.workspace_id,
                "AZUREML_WORKSPACE_SCOPE": ws.arm_id,
                "AZUREML_EXPERIMENT_SCOPE": f"{ws.arm_id}/experiments/{job.experiment_name}",
                "AZUREML_SERVICE_ENDPOINT": d.base_url,
                "AZUREML_DISCOVERY_SERVICE_ENDPOINT": f"{d.base_url}/discovery/workspaces/{ws.workspace_id}",
                "AZUREML_COMPUTE_NAME": job.compute_name or "",
                "AZUREML_ENVIRONMENT_ID": str(job.props.get("environmentId") or ""),
                "AZUREML_CR_EXECUTION_WORKING_DIR_PATH": str(job.scratch / "wd") if job.scratch else "",
            }
        )
        for k, v in (job.props.get("environmentVariables") or {}).items():
            env[str(k)] = str(v)
        return env

    def _resolve_command(self, job: Job) -> str:
        command = job.props.get("command") or ""
        inputs = job.props.get("inputs") or {}

        def repl(mo: re.Match) -> str:
            kind, key = mo.group(1), mo.group(2)
            if kind == "inputs":
                item = inputs.get(key)
                if item is None:
                    raise ValueError(f"command references unknown input {key!r}")
                if "value" in item:
                    return str(item["value"])
                return str(item.get("uri", ""))
            out_dir = job.scratch / "outputs" / key
            out_dir.mkdir(parents=True, exist_ok=True)
            return str(out_dir)

        resolved = re.sub(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}", repl, command)
        return resolved

    def _code_uri(self, job: Job) -> str | None:
        code_id = job.props.get("codeId")
        if not code_id:
            return None
        m = re.search(r"/codes/([^/]+)/versions/([^/]+)", code_id)
        if not m:
            raise ValueError(f"unsupported codeId {code_id!r}")
        item = job.ws.codes.get((m.group(1).lower(), m.group(2)))
        if item is None:
            raise ValueError(f"code asset {m.group(1)}:{m.group(2)} not found")
        return item["properties"].get("codeUri")

    def _set(self, job: Job, status: str) -> None:
        with job.lock:
            if job.status in TERMINAL:
                return
            job.status = status

    def _run(self, job: Job, forced_failure: str | None) -> None:
        end_status = "Failed"
        try:
            time.sleep(0.02)
            self._set(job, "Preparing")
            job.scratch = self.scratch_root / f"{job.name}-{uuid.uuid4().hex[:6]}"
            (job.scratch / "user_logs").mkdir(parents=True)
            job.log_path = (
                job.scratch / "user_logs" / ("std_log.txt" if job.instance_count == 1 else "std_log_process_0.txt")
            )
            job.log_path.write_text("")
            job.mlflow_experiment_id = self.mlflow.experiment_id(job.experiment_name)
            job.mlflow_run_id = self.mlflow.create_run(
                job.mlflow_experiment_id,
                job.name,
                job.props.get("displayName") or job.name,
                {
                    "azureml.jobName": job.name,
                    "mlflow.source.type": "JOB",
                    "mlflow.user": "double@example.invalid",
                    "azureml.computeName": job.compute_name or "",
                    **job.mlflow_tags,
                },
            )
            if job.cancel_requested:
                end_status = "Canceled"
                return
            wd = job.scratch / "wd"
            wd.mkdir()
            code_uri = self._code_uri(job)
            if code_uri:
                container, prefix = self.storage.split_uri(code_uri)
                n = self.storage.download_prefix(container, prefix, wd)
                if n == 0:
                    raise RuntimeError(f"code snapshot {code_uri} is empty or missing in Azurite")
            command = self._resolve_command(job)
            job.command_resolved = command
            job.python_bin = self._job_python(job)
            self._set(job, "Queued")
            if forced_failure:
                with open(job.log_path, "a") as fh:
                    fh.write(forced_failure + "\n")
                job.start_time = _now()
                self._set(job, "Running")
                job.error = {"error": {"code": "UserError", "message": forced_failure}}
                end_status = "Failed"
                return
            with job.lock:
                if job.cancel_requested:
                    end_status = "Canceled"
                    return
                procs = self._spawn_processes(job, command, wd)
                job.proc = procs[0]
                job.pid = job.pgid = job.proc.pid
                job.pgids = [proc.pid for proc in procs]
                job.start_time = _now()
                job.status = "Running"
            shipper = threading.Thread(target=self._ship_log_while_running, args=(job,), daemon=True)
            shipper.start()
            codes = [proc.wait() for proc in procs]
            job.exit_code = next((code for code in codes if code != 0), 0)
            shipper.join()
            # The job's process group may have left children behind: Azure tears the node down.
            for pgid in job.pgids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            if job.cancel_requested:
                end_status = "Canceled"
            elif job.exit_code == 0:
                end_status = "Completed"
            else:
                end_status = "Failed"
                job.error = {
                    "error": {
                        "code": "UserError",
                        "message": "Execution failed. User process '/bin/bash' exited with status code "
                        f"{job.exit_code}. "
                        "Please check log file 'user_logs/std_log.txt' for error details.",
                    }
                }
        except EnvironmentBuildError as e:
            self._fail_before_start(job, f"Environment image build failed: {e}")
            end_status = "Canceled" if job.cancel_requested else "Failed"
        except Exception as e:  # noqa: BLE001 - the job fails, the double survives
            job.error = {"error": {"code": "SystemError", "message": f"azureml double: {e!r}"}}
            if job.log_path is not None:
                with open(job.log_path, "a") as fh:
                    fh.write(f"azureml double: job preparation failed: {e!r}\n")
            end_status = "Canceled" if job.cancel_requested else "Failed"
        finally:
            self._finalize(job, end_status)

    def _finalize(self, job: Job, end_status: str) -> None:
        """``Finalizing``: the log's last copy reaches the artifact store and the MLflow run is ended; then
        the job is terminal (so a client that saw it terminal can read its whole log)."""
        from tests.azureml_double.job_outputs import ship_outputs

        self._set(job, "Finalizing")
        try:
            self._ship_log(job)
            ship_outputs(self.storage, job)
            job.keep_named_outputs(self.storage)
        finally:
            if job.mlflow_run_id:
                mlflow_status = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}[end_status]
                try:
                    self.mlflow.end_run_if_running(job.mlflow_run_id, mlflow_status)
                except Exception as e:  # noqa: BLE001 - the job's end is recorded whatever mlflow says
                    print(f"azureml double: could not end mlflow run {job.mlflow_run_id}: {e!r}", flush=True)
            with job.lock:
                job.end_time = _now()
                if job.start_time is None:
                    job.start_time = job.end_time
                job.status = end_status
            if job.tmp is not None:
                shutil.rmtree(job.tmp, ignore_errors=True)
            job.finished.set()

    def _job_python(self, job: Job) -> Path | None:
        """The ``bin`` folder of the job's own interpreter, or None to run on the test venv's (see the docstring)."""
        conda = self._conda_file(job)
        if conda is None or job.scratch is None:
            return None
        return job_python(conda).create(job.scratch / "python")

    def _conda_file(self, job: Job) -> dict[str, Any] | None:
        """The conda file of the job's environment version in the workspace (None: an image alone, or unknown)."""
        import yaml

        found = re.search(r"/environments/([^/]+)/versions/([^/]+)$", str(job.props.get("environmentId") or ""))
        with self.double.lock:
            item = job.ws.environments.get((found.group(1).lower(), found.group(2))) if found else None
        text = (item or {}).get("properties", {}).get("condaFile")
        return yaml.safe_load(text) if isinstance(text, str) else None

    def _fail_before_start(self, job: Job, message: str) -> None:
        job.error = {"error": {"code": "UserError", "message": message}}
        if job.log_path is not None:
            with open(job.log_path, "a") as fh:
                fh.write(message + "\n")

    def _ship_log(self, job: Job) -> None:
        """Copy the job's logs to ``workspaceartifactstore`` (run history's ``ExperimentRun/dcid.<job>/``)."""
        from tests.azureml_double.routes_datastores import ARTIFACT_STORE_CONTAINER, run_prefix

        for name in job.log_names():
            self.storage.upload_file(ARTIFACT_STORE_CONTAINER, f"{run_prefix(job.name)}/{name}", job.scratch / name)

    def _spawn_processes(self, job: Job, command: str, wd: Path) -> list[subprocess.Popen]:
        """One process per node (``instance_count``), each in its own process group, with its rank's variables;
        each writes its own ``user_logs`` file when there is more than one."""
        env = self.job_env(job)
        port = free_port()
        procs: list[subprocess.Popen] = []
        for rank in range(job.instance_count):
            log_name = "std_log.txt" if job.instance_count == 1 else f"std_log_process_{rank}.txt"
            with open(job.scratch / "user_logs" / log_name, "ab", buffering=0) as log:
                procs.append(
                    subprocess.Popen(
                        ["/bin/bash", "-c", command],
                        cwd=wd,
                        env={**env, **rank_env(job.distribution, rank, job.instance_count, port)},
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        return procs

    def _ship_log_while_running(self, job: Job) -> None:
        shipped: list[int] = []
        while job.proc is not None and job.proc.poll() is None and not self.stopping.wait(LOG_SHIP_SECONDS):
            sizes = [(job.scratch / name).stat().st_size for name in job.log_names()]
            if sizes != shipped:
                self._ship_log(job)
                shipped = sizes

    def _kill_group(self, pgid: int, job: Job) -> None:
        def killer() -> None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                return
            if job.finished.wait(2.0) and job.proc is not None and job.proc.poll() is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)  # stragglers in the group
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

        threading.Thread(target=killer, daemon=True).start()


def rank_env(distribution: str | None, rank: int, world_size: int, port: int) -> dict[str, str]:
    """The variables Azure ML sets on each process of a distributed job (one process per node here)."""
    if distribution == "PyTorch":
        return {
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_RANK": "0",
            "LOCAL_WORLD_SIZE": "1",
            "NODE_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    if distribution == "Mpi":
        return {
            "OMPI_COMM_WORLD_RANK": str(rank),
            "OMPI_COMM_WORLD_SIZE": str(world_size),
            "OMPI_COMM_WORLD_LOCAL_RANK": "0",
            "OMPI_COMM_WORLD_LOCAL_SIZE": "1",
            "OMPI_COMM_WORLD_NODE_RANK": str(rank),
        }
    if distribution == "TensorFlow":
        workers = [f"127.0.0.1:{port + i}" for i in range(world_size)]
        return {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}})}
    return {}


def _mint_run_token(d: Any, ws: Any) -> tuple[str, int]:
    from tests.azureml_double.server import mint_jwt

    return mint_jwt("https://ml.azure.com", d.tenant_id, lifetime=7 * 24 * 3600)
