"""What a tracking agent killed outright (``kill -9``) leaves behind is removed by the next ``agent status`` (or
``stop``) or the next agent start; files of an agent not provably gone are never touched.

Real agent processes (``launcher.spawn``, as a ``kedro run`` starts them), in a runtime folder of the test's
own; each agent this test starts is its child, so it reaps them itself (``os.waitpid``).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.pipeline_side.agent_control import ask, find_agents
from kedro_azureml_mlflow.tracking.pipeline_side.launcher import reach_agent, spawn
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, endpoint_for, write_new_key

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX sockets and kill -9: POSIX only")


def _names() -> list[str]:
    """Agent names of this test's own, sorted: a socket too deep for its folder goes to a folder every test
    process shares (``/tmp/kam-<uid>``), so fixed names would collide with a concurrent test's."""
    return sorted(secrets.token_hex(8) for _ in range(4))


KILLED, OTHER, STARTED, LEGACY = _names()


class Agents:
    """The agents this test starts (its children), stopped and reaped at the end."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.pids: list[int] = []

    def start(self, name: str) -> Endpoint:
        endpoint = endpoint_for(name)
        spawn(endpoint, self.project, keep_alive=600, preload=[])
        return self.adopt(endpoint)

    def adopt(self, endpoint: Endpoint) -> Endpoint:
        """An agent started (by ``spawn`` or ``reach_agent``) at ``endpoint``: stopped at the end."""
        pid = endpoint.owner()
        assert pid is not None and pid != os.getpid()  # the agent named itself in its key once listening
        assert ask(endpoint, stop=False).pid == pid
        self.pids.append(pid)
        return endpoint

    def stop_all(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ChildProcessError, ProcessLookupError):
                continue


@pytest.fixture
def agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agents]:
    """Agents in a runtime folder of this test's own (they inherit ``XDG_RUNTIME_DIR``)."""
    folder = tmp_path / "runtime"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    started = Agents(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def kill_9(endpoint: Endpoint) -> None:
    pid = endpoint.owner()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # reaped: the process is gone, not a zombie
    assert endpoint.key_file.exists() and Path(endpoint.address).exists()  # what kill -9 leaves behind


def test_status_removes_a_killed_agents_files_and_never_those_of_an_agent_not_provably_gone(agents: Agents) -> None:
    killed = agents.start(KILLED)
    kill_9(killed)
    alive = agents.start(STARTED)
    starting = endpoint_for(OTHER)
    write_new_key(starting)  # an agent being started by a live process: a key, no socket yet
    legacy = endpoint_for(LEGACY)
    legacy.key_file.write_text("ab" * 32)  # an older plugin's key names no process: gone once past start-up
    an_hour_ago = time.time() - 3600
    os.utime(legacy.key_file, (an_hour_ago, an_hour_ago))

    seen = find_agents()

    assert seen.removed == [KILLED, LEGACY]
    assert not killed.key_file.exists() and not Path(killed.address).exists() and not legacy.key_file.exists()
    assert [found.status.pid for found in seen.found] == [alive.owner()]
    assert seen.silent == [starting.key_file]  # named, not touched: its owner (this process) is alive
    assert starting.key_file.exists() and alive.key_file.exists()
    assert find_agents().removed == []  # nothing more to remove


def test_the_next_agent_start_removes_a_killed_agents_files(agents: Agents) -> None:
    killed = agents.start(KILLED)
    kill_9(killed)

    new = endpoint_for(STARTED)
    reach_agent(new, agents.project, keep_alive=600, preload=[]).close()  # no agent of that name: one starts
    agents.adopt(new)

    assert not killed.key_file.exists() and not Path(killed.address).exists()
    assert sorted(path.name for path in killed.key_file.parent.glob("*.key")) == [f"{STARTED}.key"]
