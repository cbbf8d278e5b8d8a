"""Kedro plugin: track pipelines with MLflow on Azure ML and submit them to Azure ML compute.

Importing this package must stay cheap: Kedro loads every plugin for every ``kedro``
command, so ``mlflow`` and ``azure.*`` are only imported where a command or hook needs them.
"""

__version__ = "0.1.0"
