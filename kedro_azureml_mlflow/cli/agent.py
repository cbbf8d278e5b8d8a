"""``kedro azureml agent status|stop``: see the tracking agents that stay warm between runs, and stop them.

One agent serves every project of a Python environment (and tracking environment) of the user; these
commands show what each says of itself and ask it to exit once no run is being served.
"""

from __future__ import annotations

import time

import click

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.tracking.pipeline_side.agent_control import Agents, FoundAgent, find_agents, stop

_STOP_WAIT_SECONDS = 30.0
_PROJECTS_SHOWN = 5


@click.group(name="agent")
def agent() -> None:
    """See or stop the tracking agents kept warm between runs."""


@agent.command(name="status")
def status() -> None:
    """Show every tracking agent of yours: its process, environment, projects served, idle time, memory."""
    agents = find_agents()
    if not agents.found:
        click.echo(f"No tracking agent is running (looked in {agents.folder}).")
    for found in agents.found:
        click.echo(describe(found))
    _mention_leftovers(agents)


@agent.command(name="stop")
@click.option("--all", "everyone", is_flag=True, help="Stop the agents of every Python environment, not just this one.")
@click.option("--pid", type=int, default=None, help="Stop only the agent with this process id.")
def stop_command(everyone: bool, pid: int | None) -> None:
    """Stop this Python environment's tracking agents, each once no run is being served."""
    if everyone and pid is not None:
        raise PluginError("--all and --pid exclude each other: give one of them")
    agents = find_agents()
    if pid is not None:
        chosen = [found for found in agents.found if found.status.pid == pid]
        if not chosen:
            running = ", ".join(str(found.status.pid) for found in agents.found) or "none"
            raise PluginError(
                f"--pid {pid}: no tracking agent of yours has that process id (running: {running}; "
                "see `kedro azureml agent status`)"
            )
    else:
        chosen = [found for found in agents.found if everyone or found.of_this_environment]
    if not chosen:
        others = f"; {len(agents.found)} of other environments (--all stops them)" if agents.found else ""
        click.echo(f"No tracking agent of this environment is running{others}.")
    for found in chosen:
        busy = found.status.running
        if busy:
            ending = "it ends" if busy == 1 else "they end"
            click.echo(f"Tracking agent {found.status.pid} is serving {_runs(busy)}; it stops once {ending}…")
        if stop(found, _STOP_WAIT_SECONDS):
            click.echo(f"Stopped tracking agent {found.status.pid} ({_served(found)}).")
        else:
            click.echo(
                f"Tracking agent {found.status.pid} is still serving a run after {_STOP_WAIT_SECONDS:g} s; "
                "it exits as soon as that run ends."
            )
    _mention_leftovers(agents)


def describe(found: FoundAgent) -> str:
    """A few lines about one agent, as it described itself."""
    state = found.status
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.started_ms / 1000))
    mine = " (this environment)" if found.of_this_environment else ""
    if state.stopping:
        doing = "stopping once no run is served"
    elif state.running:
        doing = f"serving {_runs(state.running)} now"
    else:
        doing = f"idle for {_duration(state.idle_seconds)}, exits after {_duration(state.keep_alive)} idle"
    projects = state.projects[:_PROJECTS_SHOWN]
    more = f" and {len(state.projects) - len(projects)} more" if len(state.projects) > len(projects) else ""
    return "\n".join(
        [
            f"Tracking agent {state.pid}{mine}: {doing}",
            f"  python:   {state.python}",
            f"  served:   {_served(found)} since {started}",
            f"  projects: {', '.join(projects) or '-'}{more}",
            f"  memory:   {state.memory_mib:.0f} MiB",
        ]
    )


def _served(found: FoundAgent) -> str:
    state = found.status
    projects = len(state.projects)
    return f"{_runs(state.sessions_served)} of {projects} project{'s' if projects != 1 else ''}"


def _runs(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _mention_leftovers(agents: Agents) -> None:
    if agents.removed:
        count = len(agents.removed)
        click.echo(
            f"Removed the files of {count} tracking agent{'s' if count != 1 else ''} that had ended without "
            f"removing them (killed): {', '.join(agents.removed)}."
        )
    for key_file in agents.silent:
        click.echo(
            f"No agent answered for {key_file.name} (gone without cleaning up, or an older plugin's agent); "
            "if no tracking agent process is running, delete that file."
        )
