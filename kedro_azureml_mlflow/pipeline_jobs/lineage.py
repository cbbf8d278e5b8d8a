"""Which runs produced a step's data, kept in its data folder, so that a reused step's metrics still
reach the pipeline's run.

A step Azure ML reuses runs nothing: its outputs are the original step's folder, its own run is
empty, and nobody rolls its metrics up. But the steps after it read that folder. So each step that
completes writes ``.kedro_azureml/lineage.json`` into its folder: its own run and pipeline run, and
the lineage of every folder it read. A step that finds, in what it read, a run of another pipeline
job knows that step was reused here, and rolls the original run's metrics up (:mod:`rollup`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

LINEAGE_FOLDER = ".kedro_azureml"
LINEAGE_FILE = f"{LINEAGE_FOLDER}/lineage.json"
RUN_KEY, ROOT_KEY = "run", "root"

Lineage = dict[str, dict[str, str]]  # step -> {"run": its MLflow run, "root": its pipeline's run}


def read_lineage(folders: Iterable[Path]) -> Lineage:
    """The lineage written in the folders a step read (a folder from an older plugin has none)."""
    lineage: Lineage = {}
    for folder in folders:
        path = folder / LINEAGE_FILE
        if path.is_file():
            lineage.update(json.loads(path.read_text(encoding="utf-8")))
    return lineage


def write_lineage(output: Path, step: str, upstream: Lineage) -> None:
    """This step's entry (from the run Azure ML gave it) over what it read, into its folder."""
    lineage = dict(upstream)
    run, root = os.environ.get("MLFLOW_RUN_ID"), os.environ.get("AZUREML_ROOT_RUN_ID")
    if run and root:
        lineage[step] = {RUN_KEY: run, ROOT_KEY: root}
    path = output / LINEAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lineage, sort_keys=True), encoding="utf-8")


def reused(lineage: Lineage, root: str) -> dict[str, str]:
    """Step → original run, for the steps whose data came from another pipeline job (reused here)."""
    return {step: entry[RUN_KEY] for step, entry in lineage.items() if entry.get(ROOT_KEY) != root}
