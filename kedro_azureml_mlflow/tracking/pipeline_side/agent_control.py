"""Find the user's tracking agents, ask what each serves, ask them to stop (``kedro azureml agent``).

An agent is found by its key file in the user's private folder (``channel.private_dir``) and asked
over its own channel, so what is shown is what the agent says of itself: its process id, its Python,
the projects it served. A key nobody answers for is an agent gone without cleaning up, or one of an
older plugin that does not know the question. The files of one verifiably gone (``leftovers``: killed
with ``kill -9``) are removed; any other is named, never touched.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kedro_azureml_mlflow.tracking.pipeline_side.launcher import spawn_lock
from kedro_azureml_mlflow.tracking.pipeline_side.leftovers import remove_leftovers
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, connect, endpoint_for, private_dir, receive, send
from kedro_azureml_mlflow.tracking.wire.protocol import AgentStatus, AskStatus, StopAgent, to_pipeline
from kedro_azureml_mlflow.tracking.wire.records import to_wire

_ASK_SECONDS = 5.0
_LOCK_SECONDS = 5.0
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class FoundAgent:
    """An agent that answered: where it listens and what it said."""

    endpoint: Endpoint
    status: AgentStatus

    @property
    def of_this_environment(self) -> bool:
        return Path(self.status.prefix) == Path(sys.prefix)


@dataclass
class Agents:
    """Every agent of the user that answered, the key files nobody answered for, and the leftovers removed."""

    folder: Path
    found: list[FoundAgent] = field(default_factory=list)
    silent: list[Path] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # names of agents that were gone: their files are removed


def find_agents() -> Agents:
    """Ask every agent of the user's private folder for its status; remove what gone ones left behind."""
    folder = private_dir()
    agents = Agents(folder)
    silent = []
    for key_file in sorted(folder.glob("*.key")):
        endpoint = endpoint_for(key_file.stem)
        try:
            agents.found.append(FoundAgent(endpoint, ask(endpoint, stop=False)))
        except (OSError, EOFError, TimeoutError, ValueError):
            silent.append(key_file)
    if silent:
        agents.removed = _remove_leftovers(folder)
    agents.silent = [key_file for key_file in silent if key_file.stem not in agents.removed]
    agents.found.sort(key=lambda agent: agent.status.started_ms)
    return agents


def _remove_leftovers(folder: Path) -> list[str]:
    """``leftovers.remove_leftovers`` under the spawn lock; nothing if an agent is being started for long."""
    from filelock import Timeout

    try:
        with spawn_lock(_LOCK_SECONDS):
            return remove_leftovers(folder)
    except Timeout:
        return []


def ask(endpoint: Endpoint, stop: bool) -> AgentStatus:
    """The agent's status; with ``stop``, it is also asked to exit once no run is being served."""
    conn = connect(endpoint, _ASK_SECONDS)
    try:
        send(conn, to_wire(StopAgent() if stop else AskStatus()))
        if not conn.poll(_ASK_SECONDS):
            raise TimeoutError(f"no answer within {_ASK_SECONDS:g} s")
        answer = to_pipeline(receive(conn))
    finally:
        conn.close()
    if not isinstance(answer, AgentStatus):
        raise ValueError(f"expected the agent's status, got a {answer.op!r} message")
    return answer


def stop(agent: FoundAgent, wait_seconds: float) -> bool:
    """Ask ``agent`` to stop and wait (at most ``wait_seconds``) for it to be gone: its key file removed."""
    ask(agent.endpoint, stop=True)
    deadline = time.monotonic() + wait_seconds
    while agent.endpoint.key_file.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True
