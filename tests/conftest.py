"""Shared test setup: no telemetry anywhere, and the project fixtures every module can use."""

import os

os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

pytest_plugins = ["tests.kedro_project", "tests.fixtures_projects", "tests.http_recorder"]

# The local Azure ML test double (tests/azureml_double): azureml_double / azureml_double_session fixtures.
pytest_plugins = [*pytest_plugins, "tests.azureml_double.fixtures"]

# A real `mlflow server` and a recording (and crashing) proxy in front of it (tests/tracking_server.py).
pytest_plugins = [*pytest_plugins, "tests.tracking_server"]
