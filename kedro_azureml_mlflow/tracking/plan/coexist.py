"""One run per ``kedro run`` when another owner already opened one (kedro-mlflow, a notebook).

If an MLflow run is active in the pipeline's process when the plugin's tracking starts, the
plugin logs into that run and leaves its lifecycle to its owner: no second run, no second end.
The plugin's hook runs last (``trylast``), after kedro-mlflow's has started its run. MLflow is
looked up in ``sys.modules`` only: a process that never imported it has no active run.
"""

from __future__ import annotations

import sys

from kedro_azureml_mlflow.core.redaction import mask_uri
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec

KEDRO_MLFLOW_MODULE = "kedro_mlflow"


def active_run_target() -> TargetSpec | None:
    """The run already active in this process, as a target to resume; ``None`` when there is none."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    run = mlflow.active_run()
    if run is None:
        return None
    uri = str(mlflow.get_tracking_uri())
    run_id = str(run.info.run_id)
    owner = "kedro-mlflow's run" if kedro_mlflow_owns_it() else "the MLflow run already active in this process,"
    return TargetSpec(uri, None, run_id, f"{owner} {run_id} on {mask_uri(uri)} (its owner ends it)")


def kedro_mlflow_owns_it() -> bool:
    """kedro-mlflow's hooks are loaded: it logs the run's params itself (under its own names)."""
    return KEDRO_MLFLOW_MODULE in sys.modules
