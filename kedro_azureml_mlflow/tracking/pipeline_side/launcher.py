"""Find this project's warm tracking agent, or start one; runs in the pipeline's connect thread.

An agent is reused only by runs it would serve exactly as a fresh one: the same project, Python,
plugin and MLflow (installed files, not just version numbers, so an edited checkout counts as a
change) and the same tracking-related environment (only a digest of it is kept). Anything else
gets its own agent; the old one exits when idle or when it sees its files change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
from importlib.util import find_spec
from multiprocessing.connection import Connection
from pathlib import Path

import kedro_azureml_mlflow
from kedro_azureml_mlflow.tracking.journal.journal import in_azureml_job
from kedro_azureml_mlflow.tracking.wire.channel import (
    Endpoint,
    connect,
    endpoint_for,
    private_dir,
    within,
    write_new_key,
)
from kedro_azureml_mlflow.tracking.wire.records import to_wire

KEEP_ALIVE_ENV = "KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE"  # seconds; 0 turns reuse off
_ENV_PREFIXES = ("MLFLOW_", "AZURE", "IDENTITY_", "MSI_", "REQUESTS_", "SSL_CERT", "CURL_CA")
_ENV_NAMES = {"PATH", "HOME", "PYTHONPATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "VIRTUAL_ENV"}
_STARTUP_SECONDS = 30.0
_CONNECT_SECONDS = 5.0
_LOG_LIMIT_BYTES = 1_000_000  # then agent.log becomes agent.log.1 (the one older log kept)
LOG_NAME = "agent.log"
SPAWN_LOCK_NAME = "spawn.lock"


def keep_alive_seconds(configured: float) -> float:
    """``tracking.agent.keep_alive_seconds``, unless the environment variable overrides it (0 in an Azure ML job)."""
    if in_azureml_job():
        return 0.0  # nothing may outlive the job's own process
    raw = os.environ.get(KEEP_ALIVE_ENV)
    try:
        return max(0.0, float(raw)) if raw is not None else configured
    except ValueError:
        return configured


def installed_stamp() -> str:
    """Changes whenever the plugin's or MLflow's installed files do."""
    package = Path(kedro_azureml_mlflow.__file__).parent
    newest = max((entry.stat().st_mtime_ns for entry in package.rglob("*.py")), default=0)
    parts = [kedro_azureml_mlflow.__version__, str(newest)]
    for module in ("mlflow", "azureml.mlflow"):
        spec = find_spec(module)
        origin = spec.origin if spec is not None else None
        parts.append(str(Path(origin).stat().st_mtime_ns) if origin else "-")
    return "|".join(parts)


def agent_name(project_path: Path, keep_alive: float) -> str:
    """A per-run name without reuse; otherwise a digest of everything a reused agent must share."""
    if keep_alive <= 0:
        return secrets.token_hex(8)
    environment = sorted(
        (key, value) for key, value in os.environ.items() if key.startswith(_ENV_PREFIXES) or key in _ENV_NAMES
    )
    identity = [str(project_path.resolve()), sys.executable, installed_stamp(), environment]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def agent_endpoint(project_path: Path, keep_alive: float) -> Endpoint:
    return endpoint_for(agent_name(project_path, keep_alive))


def reach_agent(endpoint: Endpoint, project_path: Path, keep_alive: float, preload: list[str]) -> Connection:
    """A connection to the agent at ``endpoint``: the warm one if it answers, else a new one."""
    if keep_alive <= 0:  # a name of its own: nobody else can race for it
        spawn(endpoint, project_path, keep_alive, preload)
        return connect(endpoint, _CONNECT_SECONDS)
    if endpoint.key_file.exists():
        try:
            return connect(endpoint, _CONNECT_SECONDS)
        except (OSError, EOFError, TimeoutError, ValueError):
            pass  # gone (its socket outlived it) or not ours: start another under the lock
    from filelock import FileLock  # only on the cold path

    # One lock for every agent of the user (starting one is rare and quick): no lock file per agent left behind.
    with FileLock(str(private_dir() / SPAWN_LOCK_NAME), timeout=_STARTUP_SECONDS):
        try:
            return connect(endpoint, _CONNECT_SECONDS)  # started meanwhile by a concurrent run
        except (OSError, EOFError, TimeoutError, ValueError):
            spawn(endpoint, project_path, keep_alive, preload)
        return connect(endpoint, _CONNECT_SECONDS)


def spawn(endpoint: Endpoint, project_path: Path, keep_alive: float, preload: list[str]) -> None:
    """Start an agent detached from the terminal (Ctrl-C must reach the pipeline, not the agent)."""
    write_new_key(endpoint)
    log = log_file()
    settings = {"endpoint": to_wire(endpoint), "keep_alive": keep_alive, "preload": preload, "log": str(log)}
    windows_flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "DETACHED_PROCESS", 0)
    detach: dict[str, object] = (
        {"creationflags": windows_flags} if sys.platform == "win32" else {"start_new_session": True}
    )
    with log.open("ab") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "kedro_azureml_mlflow.tracking.agent"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=project_path,
            close_fds=True,
            **detach,  # type: ignore[call-overload]  # platform-specific keywords
        )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(settings).encode() + b"\n")
    process.stdin.close()
    line = within(_STARTUP_SECONDS, process.stdout.readline)
    process.stdout.close()
    if line.strip() != b"ready":
        raise RuntimeError(f"the tracking agent did not start (see {log})")


def log_file() -> Path:
    """The log every agent of the user appends to (each line names its process), rotated past the limit."""
    log = private_dir() / LOG_NAME
    with contextlib.suppress(FileNotFoundError):  # a concurrent start may have rotated it already
        if log.stat().st_size > _LOG_LIMIT_BYTES:
            log.replace(log.with_name(f"{LOG_NAME}.1"))
    return log
