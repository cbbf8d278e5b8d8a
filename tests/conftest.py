"""Shared test setup: no telemetry anywhere, and the project fixtures every module can use."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterator

import pytest

# Tests of Ctrl-C send SIGINT to the `kedro` processes they start. A suite started in the background of a
# non-interactive shell (`(pytest &)`) inherits SIGINT ignored, and so would every process it starts (an
# ignored signal stays ignored across exec): their interrupted runs would never stop. With Python's own
# handler here, the processes the tests start begin with SIGINT at its default, as in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# Tracking agents as shipped: kept warm between runs and shared by every project of one environment, so
# each test's `kedro run` meets an agent that served the tests before it, as a user's does. Their
# sockets, keys, logs and empty-store template live in this test process's own runtime folder (each
# pytest-xdist worker has one), apart from the user's agents; every agent started there is stopped when
# the session ends (tests.warm_agents). Tests that need an agent of their own ask for one.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="kam-tests-")

pytest_plugins = ["tests.kedro_project", "tests.fixtures_projects", "tests.http_recorder"]

# The local Azure ML test double (tests/azureml_double): azureml_double / azureml_double_session fixtures.
pytest_plugins = [*pytest_plugins, "tests.azureml_double.fixtures"]

# A real `mlflow server` and a recording (and crashing) proxy in front of it (tests/tracking_server.py).
pytest_plugins = [*pytest_plugins, "tests.tracking_server"]

# Warm tracking agents as shipped, each test's in its own runtime folder, all stopped after the test.
pytest_plugins = [*pytest_plugins, "tests.warm_agents"]

# A spaceflights-like project whose nodes are in namespaces (pipeline jobs): the spaceflights fixture.
pytest_plugins = [*pytest_plugins, "tests.pipeline_project"]


@pytest.fixture
def mlflow_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point MLflow's process-wide tracking URI at a store for one test, and unset it afterwards.

    ``mlflow.set_tracking_uri`` sets a module global (and ``MLFLOW_TRACKING_URI``) that outlives the
    test: set directly, it decides where every later test in the process tracks.
    """
    import mlflow

    def use(uri: str) -> None:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored by monkeypatch after this fixture
        mlflow.set_tracking_uri(uri)

    yield use
    # Not set again, as MLflow's own temporary-URI helper leaves it: the environment decides from here on.
    mlflow.set_tracking_uri(None)  # MLflow accepts None ("unset") though it annotates str
