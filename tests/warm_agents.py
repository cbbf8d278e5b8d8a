"""Warm tracking agents as shipped: the test process's, and those of tests that want agents of their own.

Every test's agents are warm and shared within its test process, as a user's are within an environment:
``tests/conftest.py`` gives the process a runtime folder, and the agents started there are stopped when the
session ends. A test that must see only its own agents takes the ``warm_agents`` fixture: its runs point
``XDG_RUNTIME_DIR`` at the test's own folder, so it sees only its agents (found by that variable in their
environment, not by what the run prints) and stops every one of them at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.pipeline_side.launcher import KEEP_ALIVE_ENV
from tests.kedro_project import KedroProject, clean_env, run_kedro
from tests.waiting import wait_until

_AGENT_MODULE = b"kedro_azureml_mlflow.tracking.agent"


def agent_pids(runtime: Path) -> set[int]:
    """Live tracking agents started with ``XDG_RUNTIME_DIR=runtime`` (read from /proc)."""
    wanted = b"XDG_RUNTIME_DIR=" + os.fsencode(runtime)
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _AGENT_MODULE in (entry / "cmdline").read_bytes() and wanted in (entry / "environ").read_bytes().split(
                b"\0"
            ):
                found.add(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return {pid for pid in found if _alive(pid)}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class WarmAgents:
    runtime: Path
    seen: set[int] = field(default_factory=set)

    @property
    def files(self) -> Path:
        """The agents' private folder (sockets whose path is too long live under /tmp/kam-<uid>)."""
        return self.runtime / "kedro-azureml-mlflow"

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env(XDG_RUNTIME_DIR=str(self.runtime))
        env.pop(KEEP_ALIVE_ENV, None)  # as shipped: agents stay warm (tracking.agent.keep_alive_seconds)
        return {**env, **extra}

    def kedro(self, project: KedroProject, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        result = run_kedro(args, project.path, env=self.env(**extra))
        self.seen |= self.alive()
        return result

    def run(self, project: KedroProject, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        result = run_kedro(("run", *args), project.path, env=self.env(**extra), check=True)
        self.seen |= self.alive()
        return result

    def alive(self) -> set[int]:
        return agent_pids(self.runtime)

    def stop_all(self) -> None:
        for pid in self.alive() | self.seen:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        wait_until(lambda: not self.alive(), 60, "the test's tracking agents to exit")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the agents this test process's runs left warm (tests/conftest.py gives it its runtime folder)."""
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    WarmAgents(runtime).stop_all()
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def warm_agents(tmp_path: Path) -> Iterator[WarmAgents]:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    agents = WarmAgents(runtime)
    try:
        yield agents
    finally:
        agents.stop_all()
