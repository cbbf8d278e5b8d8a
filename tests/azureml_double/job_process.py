"""Running a job's command: the environment Azure ML gives it, one process group per node, killing them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.azureml_double.credentials import unsigned_jwt
from tests.azureml_double.job import Job
from tests.ports import free_port

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"  # a container's; the job's interpreter is put first


def job_env(d: Any, job: Job) -> dict[str, str]:
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


def resolve_command(job: Job) -> str:
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


def spawn_processes(d: Any, job: Job, command: str, wd: Path) -> list[subprocess.Popen]:
    """One process per node (``instance_count``), each in its own process group, with its rank's variables;
    each writes its own ``user_logs`` file when there is more than one."""
    env = job_env(d, job)
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


def kill_group(pgid: int, job: Job) -> None:
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
    return unsigned_jwt("https://ml.azure.com", d.tenant_id, lifetime=7 * 24 * 3600)
