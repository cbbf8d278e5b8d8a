"""Time one piece of a tracked run's start-up in this fresh interpreter; print the timings as JSON.

``python import_probe.py kedro | plugin | "create a new" <db uri> | "open the existing" <db uri>``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time


def timed_import(name: str) -> float:
    start = time.perf_counter()
    importlib.import_module(name)
    return time.perf_counter() - start


def probe(what: str, uri: str | None) -> dict[str, float]:
    if what == "kedro":
        return {"import kedro.framework.cli": timed_import("kedro.framework.cli")}
    if what == "plugin":
        for kedro_module in ("kedro.framework.cli", "kedro.framework.hooks", "kedro.framework.session"):
            importlib.import_module(kedro_module)  # Kedro's own cost, paid before the clock starts
        return {"import the plugin's hooks module (after Kedro)": timed_import("kedro_azureml_mlflow.hooks")}
    mlflow_import = timed_import("mlflow.tracking")
    # What MlflowClient("sqlite:///…") imports on first use.
    store_import = timed_import("mlflow.store.tracking.sqlalchemy_store")
    from mlflow.tracking import MlflowClient

    start = time.perf_counter()
    MlflowClient(tracking_uri=uri).get_experiment_by_name("bench")
    return {
        "import mlflow (MlflowClient)": mlflow_import,
        "import MLflow's SQLAlchemy store (SQLAlchemy + ORM)": store_import,
        f"SQLite: {what} db, first query (after the imports)": time.perf_counter() - start,
    }


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))
