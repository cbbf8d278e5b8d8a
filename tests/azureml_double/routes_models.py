"""Where Azure ML's MLflow service differs from open-source MLflow on models.

Registered on the shared router *before* the MLflow proxy (``first=True``): the first matching route wins,
and everything not carved out here still goes to the real MLflow server behind the proxy.

- **Logged models** (MLflow 3's ``log_model``: ``POST /api/2.0/mlflow/logged-models``, ``.../search``,
  ``.../<model id>`` and below): Azure ML answers **404 with an empty body** (azure-sdk-for-python#44896:
  "API request to endpoint /api/2.0/mlflow/logged-models failed with error code 404 != 200. Response body: ''").
  A real MLflow server would accept them and flatter any client that relies on them.
- **Model registry**: served (``registered-models/*``, ``model-versions/*`` go to the real server's registry),
  minus what Azure ML documents as unsupported ("Manage models registry in Azure Machine Learning with
  MLflow", Limitations): renaming a model and deleting a whole model (its container). Azure ML's exact error
  body for those is not recorded; the double answers MLflow's error shape with ``FEATURE_DISABLED``, as it does
  for experiment renames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import MLFLOW, router
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double

_API = r"(?P<api>/api/2\.0/mlflow|/ajax-api/2\.0/mlflow)"


@router.route("*", MLFLOW + _API + r"/logged-models(?:/.*)?", first=True)
def logged_models(d: Double, req: Request, ws: Workspace, api: str):
    return 404, None


def _unsupported(message: str) -> HttpError:
    return HttpError(400, "FEATURE_DISABLED", message, body={"error_code": "FEATURE_DISABLED", "message": message})


@router.route("*", MLFLOW + _API + r"/registered-models/rename", first=True)
def rename_registered_model(d: Double, req: Request, ws: Workspace, api: str):
    raise _unsupported("Renaming registered models is not supported (Azure ML)")


@router.route("DELETE", MLFLOW + _API + r"/registered-models/delete", first=True)
def delete_registered_model(d: Double, req: Request, ws: Workspace, api: str):
    raise _unsupported("Deleting a registered model (the model container) is not supported (Azure ML)")
