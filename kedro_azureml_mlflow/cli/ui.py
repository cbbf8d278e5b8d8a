"""``kedro azureml ui``: see the project's runs where they are tracked."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import click

from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.core.errors import PluginError

STUDIO = "https://ml.azure.com"


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
    try:
        code = subprocess.call(command, cwd=project.path)
    except KeyboardInterrupt:
        raise SystemExit(0) from None
    if code != 0:
        raise PluginError(f"The MLflow UI stopped with exit code {code} (its own output above says why)")


def check_can_listen(host: str, port: int) -> None:
    """Fail in one line, before starting the server, if ``host:port`` cannot be listened on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind(address)
    except OSError as exc:
        raise PluginError(f"Cannot serve the MLflow UI on {host}:{port}: {exc.strerror or exc}") from None
