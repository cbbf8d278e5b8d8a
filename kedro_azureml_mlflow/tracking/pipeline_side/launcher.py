"""Find the environment's warm tracking agent, or start one; runs in the pipeline's connect thread.

One agent serves every project of a Python environment and user: what a run needs of its project
(folder, store, experiment, credentials) travels with the run (``SessionSpec``), so a new project's
first run is warm whenever any project of the environment ran recently. An agent is reused only by
runs it would serve exactly as a fresh one: the same user, Python, plugin and MLflow (installed
files, not just version numbers, so an edited checkout counts as a change) and the same
tracking-related environment (only a digest of it is kept). Anything else gets an agent of its own;
the old one exits when idle or when it sees its files change. With reuse off (``keep_alive`` 0)
every run gets a private agent under a random name.
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
from typing import TYPE_CHECKING

import kedro_azureml_mlflow
from kedro_azureml_mlflow.tracking.journal.journal import in_azureml_job
from kedro_azureml_mlflow.tracking.pipeline_side.leftovers import STARTUP_SECONDS, remove_leftovers
from kedro_azureml_mlflow.tracking.wire.channel import (
    Endpoint,
    connect,
    endpoint_for,
    private_dir,
    within,
    write_new_key,
)
from kedro_azureml_mlflow.tracking.wire.records import to_wire

if TYPE_CHECKING:
    from filelock import BaseFileLock

KEEP_ALIVE_ENV = "KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE"  # seconds; 0 turns reuse off
# What the agent's own process reads while tracking: MLflow's settings, Azure sign-in (azure-identity's
# environment, managed identity), requests' proxies and CA bundles (either case: requests reads both),
# and where Python, `az` and the user's config are found. Compared upper-cased.
_ENV_PREFIXES = ("MLFLOW_", "AZURE", "IDENTITY_", "MSI_", "REQUESTS_", "SSL_CERT", "CURL_CA")
_ENV_NAMES = {
    "PATH",
    "HOME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "TMPDIR",
}
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


def agent_environment(project_path: Path) -> dict[str, str]:
    """The environment an agent gets: this process's, without the project's own folders on ``PYTHONPATH``.

    Kedro puts the project's source folder first on ``PYTHONPATH`` (for its worker processes); the agent
    imports no project code, and one agent serves every project, so that entry is neither passed on nor
    compared.
    """
    environment = dict(os.environ)
    if "PYTHONPATH" in environment:
        project = project_path.resolve()
        kept = [
            entry
            for entry in environment["PYTHONPATH"].split(os.pathsep)
            if entry and not Path(entry).resolve().is_relative_to(project)
        ]
        environment["PYTHONPATH"] = os.pathsep.join(kept)
        if not kept:
            del environment["PYTHONPATH"]
    return environment


def tracking_environment(environment: dict[str, str]) -> list[tuple[str, str]]:
    """The variables of ``environment`` a tracking agent's process reads (sorted; only ever kept as a digest)."""
    return sorted(
        (key, value)
        for key, value in environment.items()
        if key.upper().startswith(_ENV_PREFIXES) or key.upper() in _ENV_NAMES
    )


def agent_name(project_path: Path, keep_alive: float) -> str:
    """A per-run name without reuse; otherwise a digest of everything a reused agent must share.

    The project is not part of it (only its folders are taken off ``PYTHONPATH``): one agent serves
    every project of the environment.
    """
    if keep_alive <= 0:
        return secrets.token_hex(8)
    environment = tracking_environment(agent_environment(project_path))
    identity = [user(), sys.prefix, sys.executable, installed_stamp(), environment]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def user() -> str:
    """Who runs: the agent's folder is the user's own already; the name says it too (a shared runtime dir)."""
    return str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")


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
    with spawn_lock(STARTUP_SECONDS):
        try:
            return connect(endpoint, _CONNECT_SECONDS)  # started meanwhile by a concurrent run
        except (OSError, EOFError, TimeoutError, ValueError):
            remove_leftovers(private_dir())  # this agent's, if killed, and any other agent's killed before
            spawn(endpoint, project_path, keep_alive, preload)
        return connect(endpoint, _CONNECT_SECONDS)


def spawn_lock(timeout: float) -> BaseFileLock:
    """Held while an agent is started under a shared name, and while leftovers are removed (raises ``Timeout``).

    One lock for every agent of the user (starting one is rare and quick): no lock file per agent left behind.
    """
    from filelock import FileLock  # only on the cold path

    return FileLock(str(private_dir() / SPAWN_LOCK_NAME), timeout=timeout)


def spawn(endpoint: Endpoint, project_path: Path, keep_alive: float, preload: list[str]) -> None:
    """Start an agent detached from the terminal (Ctrl-C must reach the pipeline, not the agent).

    It works in the user's private folder, not in a project: it serves many, and each run names its own
    folders (its store's artifact root, its journal), so nothing relative to a working directory is left.
    """
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
            cwd=private_dir(),
            env=agent_environment(project_path),
            close_fds=True,
            **detach,  # type: ignore[call-overload]  # platform-specific keywords
        )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(settings).encode() + b"\n")
    process.stdin.close()
    line = within(STARTUP_SECONDS, process.stdout.readline)
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
