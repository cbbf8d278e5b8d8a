"""Shared test setup.

The project's tests must not create MLflow runs or need an Azure sign-in:
kedro-azureml-mlflow's tracking is turned off for them, without editing azureml.yml.
"""

import os

os.environ["KEDRO_AZUREML_MLFLOW_TRACKING"] = "off"
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
