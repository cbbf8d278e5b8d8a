"""Old home of :mod:`kedro_azureml_mlflow.io.workspace_data`, kept for the entry point below."""
