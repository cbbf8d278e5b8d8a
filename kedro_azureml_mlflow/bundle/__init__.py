"""Turn a Kedro project into an MLflow Project (``MLproject`` + environment spec + file snapshot).

Pure file work: nothing here talks to Azure, so ``--dry-run`` and ``--backend local`` use it as is.
"""

from kedro_azureml_mlflow.bundle.build import PackagedProject, PackageRequest, package_project
from kedro_azureml_mlflow.bundle.mlproject import RunArguments

__all__ = ["PackageRequest", "PackagedProject", "RunArguments", "package_project"]
