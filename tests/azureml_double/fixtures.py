"""Pytest fixtures for the local Azure ML double (exposed via ``pytest_plugins`` in ``tests/conftest.py``).

- ``azureml_double_session`` (session): starts mlflow server + Azurite + the fake control plane once (free
  ports, a temp dir), stops them (by process group) at the end. Leaves ``os.environ`` alone.
- ``azureml_double`` (function): the same :class:`AzureMLDouble`, with the request log and faults cleared
  before the test and :meth:`AzureMLDouble.client_env` applied to ``os.environ`` during the test only; every
  variable it or the SDKs touched (``AZUREML_CURRENT_CLOUD``, ``MLFLOW_*`` ...) is restored after it.

Mark tests that use them ``@pytest.mark.azure``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.azureml_double.launcher import SDK_TOUCHED_ENV, AzureMLDouble, DoubleStartError, restore_environ
from tests.session_cache import cache_dir

# Read by azure-ai-ml when it is first imported (module constants): set them before any test imports it so
# ``ml_client.jobs.stream`` never sleeps between polls. Telemetry is always off in tests.
for _key, _value in {
    "AZUREML_RUN_POLLING_INTERVAL_MIN": "0",
    "AZUREML_RUN_POLLING_INTERVAL_MAX": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "KEDRO_DISABLE_TELEMETRY": "true",
}.items():
    os.environ.setdefault(_key, _value)


def double_cache_dir(pytestconfig: pytest.Config) -> Path:
    """Where the double keeps an empty mlflow db between sessions (creating its tables takes long on a busy
    machine): pytest's cache, or the temp dir where there is none."""
    return cache_dir(pytestconfig, "azureml-double") or Path(tempfile.gettempdir()) / "azureml-double"


@pytest.fixture(scope="session")
def azureml_double_session(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[AzureMLDouble]:
    """The running double, shared by the session. Does not touch ``os.environ`` (see ``azureml_double``)."""
    double = AzureMLDouble(tmp_path_factory.mktemp("azureml-double"), cache_dir=double_cache_dir(pytestconfig))
    try:
        # A loaded machine (CI shares 2 cores) may need longer than start()'s default: AZUREML_DOUBLE_START_TIMEOUT.
        timeout = os.environ.get("AZUREML_DOUBLE_START_TIMEOUT")
        double.start(**({"timeout": float(timeout)} if timeout else {}))
    except DoubleStartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def azureml_double(azureml_double_session: AzureMLDouble) -> Iterator[AzureMLDouble]:
    """The double, with :meth:`AzureMLDouble.client_env` applied to ``os.environ`` for this test only (so
    in-process SDK clients reach it), request log and faults cleared first, every touched variable restored
    afterwards (including ``AZUREML_CURRENT_CLOUD`` and ``MLFLOW_*`` the SDKs write)."""
    double = azureml_double_session
    double.reset()
    env = double.client_env()
    watched = set(SDK_TOUCHED_ENV) | set(env) | set(double.client_env(auth="client_secret"))
    saved = {k: os.environ.get(k) for k in watched}
    os.environ.update(env)
    try:
        yield double
    finally:
        restore_environ(saved)
        double.clear_faults()
