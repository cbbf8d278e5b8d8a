"""Pytest fixtures for the local Azure ML double (exposed via ``pytest_plugins`` in ``tests/conftest.py``).

- ``azureml_double_session`` (session): starts mlflow server + Azurite + the fake control plane once, sets
  :meth:`AzureMLDouble.client_env` in ``os.environ`` for the whole session, stops everything at the end.
- ``azureml_double`` (function): the same :class:`AzureMLDouble`, with the request log and faults cleared
  before the test and SDK-touched env vars (``AZUREML_CURRENT_CLOUD``, ``MLFLOW_*`` ...) restored after it.

Mark tests that use them ``@pytest.mark.azure``.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from tests.azureml_double.launcher import SDK_TOUCHED_ENV, AzureMLDouble, DoubleStartError

# Read by azure-ai-ml when it is first imported (module constants): set them before any test imports it so
# ``ml_client.jobs.stream`` never sleeps between polls. Telemetry is always off in tests.
for _key, _value in {
    "AZUREML_RUN_POLLING_INTERVAL_MIN": "0",
    "AZUREML_RUN_POLLING_INTERVAL_MAX": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "KEDRO_DISABLE_TELEMETRY": "true",
}.items():
    os.environ.setdefault(_key, _value)


@pytest.fixture(scope="session")
def azureml_double_session(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[AzureMLDouble]:
    cache_dir = pytestconfig.cache.mkdir("azureml-double") if pytestconfig.cache is not None else None
    double = AzureMLDouble(tmp_path_factory.mktemp("azureml-double"), cache_dir=cache_dir)
    try:
        double.start()
    except DoubleStartError as e:
        pytest.fail(str(e), pytrace=False)
    env = double.client_env()
    saved = {k: os.environ.get(k) for k in set(env) | set(SDK_TOUCHED_ENV)}
    os.environ.update(env)
    try:
        yield double
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        double.stop()


@pytest.fixture
def azureml_double(azureml_double_session: AzureMLDouble) -> Iterator[AzureMLDouble]:
    double = azureml_double_session
    double.reset()
    watched = set(SDK_TOUCHED_ENV) | set(double.client_env())
    saved = {k: os.environ.get(k) for k in watched}
    try:
        yield double
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            elif os.environ.get(k) != v:
                os.environ[k] = v
        double.clear_faults()
