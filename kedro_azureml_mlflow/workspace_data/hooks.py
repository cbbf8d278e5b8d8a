"""The ``kedro.hooks`` entry point ``kedro_azureml_mlflow.workspace_data.hooks:hooks`` (the hooks live in
:mod:`kedro_azureml_mlflow.hooks.data_hooks`)."""

from kedro_azureml_mlflow.hooks.data_hooks import hooks

__all__ = ["hooks"]
