"""``kedro azureml ui``: see the project's runs where they are tracked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import click

from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.core.errors import PluginError

STUDIO = "https://ml.azure.com"
# MLflow 3's server also starts a job runner and its huey consumers for MLflow's GenAI jobs (eight
# processes, about 2 GB resident between them), which browsing a Kedro project's runs never uses. A user
# who wants them sets the variable to true.
JOB_EXECUTION = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
_GRACE_SECONDS = 3.0  # for the server to stop on SIGTERM before its group is killed


def studio_experiment_url(subscription_id: str, resource_group: str, workspace: str, experiment_id: str | None) -> str:
    """Azure ML Studio's page for an experiment (or for all of them when it has no id yet)."""
    wsid = f"/subscriptions/{subscription_id}/resourcegroups/{resource_group}/workspaces/{workspace}"
    page = f"experiments/id/{experiment_id}" if experiment_id else "experiments"
    return f"{STUDIO}/{page}?wsid={quote(wsid)}"


@click.command(name="ui")
@env_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the local MLflow UI listens.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port of the local MLflow UI."
)
@click.pass_obj
def ui(metadata: Any, env: str | None, host: str, port: int) -> None:
    """Open the MLflow UI on the embedded store, or print the experiment's Azure ML Studio URL."""
    from kedro_azureml_mlflow.tracking.plan.target import resolve_target

    project, config = project_of(metadata, env)
    target = resolve_target(config, project)
    if target.workspace is not None:
        experiment = target.client().get_experiment_by_name(target.experiment_name or "Default")
        ref = target.workspace.ref
        url = studio_experiment_url(
            ref.subscription_id, ref.resource_group, ref.name, experiment.experiment_id if experiment else None
        )
        click.echo(f"Runs of '{target.experiment_name}' in Azure ML Studio:\n{url}")
        return
    check_can_listen(host, port)
    click.echo(f"MLflow UI for {target.description} at http://{host}:{port} (Ctrl+C to stop)")
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        target.tracking_uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",  # one person's local UI: one worker starts in a quarter of the time of MLflow's four
        "1",
    ]
    code = serve(command, project.path, server_environment(os.environ))
    if code != 0:
        raise PluginError(f"The MLflow UI stopped with exit code {code} (its own output above says why)")


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The UI server's environment: the user's, with MLflow's GenAI job execution off unless they set it."""
    return {JOB_EXECUTION: "false", **environ}


def serve(command: list[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run the server until it exits or this command is stopped; either way, the server is gone after.

    The server and its workers get a process group of their own: a Ctrl-C or ``kill <pid>`` reaches
    this command only, which stops the whole group (SIGTERM, then SIGKILL after a short grace) before
    it exits. Left to themselves, workers outlived ``kill <pid>`` and stayed busy long after a Ctrl-C.
    """
    posix = os.name == "posix"
    process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=posix)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0 if signum == signal.SIGINT else 128 + signum)

    stopping = [sig for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None]
    previous = {sig: signal.signal(sig, stop) for sig in stopping}
    try:
        return process.wait()
    finally:
        _stop_server(process, posix)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_server(process: subprocess.Popen[bytes], posix: bool) -> None:
    """Stop the server's process group (workers too, even once the server itself has exited)."""
    for sig, grace in ((signal.SIGTERM, _GRACE_SECONDS), (getattr(signal, "SIGKILL", signal.SIGTERM), 30.0)):
        try:
            if posix:
                os.killpg(process.pid, sig)
            elif process.poll() is None:
                process.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            return  # nothing left in the group
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        if not posix or not _group_alive(process.pid):
            return


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def check_can_listen(host: str, port: int) -> None:
    """Fail in one line, before starting the server, if ``host:port`` cannot be listened on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind(address)
    except OSError as exc:
        raise PluginError(f"Cannot serve the MLflow UI on {host}:{port}: {exc.strerror or exc}") from None
