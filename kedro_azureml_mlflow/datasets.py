"""The plugin's catalog dataset types (the public path for catalogs): metrics, artifacts and models
declared explicitly, data kept in the workspace. They live in :mod:`kedro_azureml_mlflow.io`."""

from kedro_azureml_mlflow.io.artifacts.dataset import MlflowArtifactDataset
from kedro_azureml_mlflow.io.artifacts.model_dataset import MlflowModelDataset
from kedro_azureml_mlflow.io.metrics_dataset import MlflowMetricsDataset
from kedro_azureml_mlflow.io.workspace_data.dataset import AzureMLDataset

__all__ = ["AzureMLDataset", "MlflowArtifactDataset", "MlflowMetricsDataset", "MlflowModelDataset"]
