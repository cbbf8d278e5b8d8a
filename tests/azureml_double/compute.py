"""Emulated compute for the double: really runs submitted command jobs on this machine.

A job PUT on a known compute is run in a background thread of the control-plane process:

1. ``Starting`` (the PUT reply, as on Azure) -> ``Preparing`` (download the code snapshot from Azurite into a
   scratch folder; make the job's interpreter from its environment's conda file, see ``job_python.py``) ->
   ``Queued`` -> ``Running``: ``bash -c <command>`` in its own process group, cwd = the snapshot, with the
   environment Azure ML injects into a job (see ``job_process.job_env``) -> ``Completed`` /
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
import os
import re
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from tests.azureml_double._http import HttpError
from tests.azureml_double.job import TERMINAL, Job
from tests.azureml_double.job_end import record_end
from tests.azureml_double.job_logs import ship_log, ship_log_while_running
from tests.azureml_double.job_process import kill_group, resolve_command, spawn_processes
from tests.azureml_double.job_python import EnvironmentBuildError, job_python
from tests.azureml_double.mlflow_backend import MlflowBackend
from tests.azureml_double.routing import utcnow
from tests.azureml_double.storage import Storage


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
            kill_group(pgid, job)

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
                ws.schedules.clear()
                ws.operations.clear()

    def shutdown(self) -> None:
        self.stopping.set()
        for ws in self.double.workspaces.values():
            for job in list(ws.jobs.values()):
                if job.status not in TERMINAL:
                    for pgid in job.pgids:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(pgid, signal.SIGKILL)

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
            command = resolve_command(job)
            job.command_resolved = command
            job.python_bin = self._job_python(job)
            self._set(job, "Queued")
            if forced_failure:
                with open(job.log_path, "a") as fh:
                    fh.write(forced_failure + "\n")
                job.start_time = utcnow()
                self._set(job, "Running")
                job.error = {"error": {"code": "UserError", "message": forced_failure}}
                end_status = "Failed"
                return
            with job.lock:
                if job.cancel_requested:
                    end_status = "Canceled"
                    return
                procs = spawn_processes(self.double, job, command, wd)
                job.proc = procs[0]
                job.pid = job.pgid = job.proc.pid
                job.pgids = [proc.pid for proc in procs]
                job.start_time = utcnow()
                job.status = "Running"
            shipper = threading.Thread(
                target=ship_log_while_running, args=(self.storage, job, self.stopping), daemon=True
            )
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
            ship_log(self.storage, job)
            ship_outputs(self.storage, job)
            job.keep_named_outputs(self.storage)
        finally:
            record_end(job, self.mlflow, end_status)
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
