"""Kedro's hooks (``kedro.hooks`` entry point ``kedro_azureml_mlflow.hooks:hooks``): tracking
(``tracking_hooks``) and catalogs with workspace data (``data_hooks``, entry point of its own)."""

from kedro_azureml_mlflow.hooks.tracking_hooks import hooks

__all__ = ["hooks"]
