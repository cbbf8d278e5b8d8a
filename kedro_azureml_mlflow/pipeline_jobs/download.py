"""``kedro azureml download JOB``: a finished pipeline job's kept data back into the project's
data folders, where a local ``kedro run`` writes them, so the two can be compared.

Each completed step's ``data`` folder holds datasets at their project-relative paths
(:mod:`data_routes`); they are copied into the project as they are. Pickled MemoryDatasets
(``memory/``) are intermediate values, and ``.kedro_azureml/`` says which runs made them
(:mod:`lineage`): not project files, they are left out.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.pipeline_jobs.data_routes import MEMORY_FOLDER
from kedro_azureml_mlflow.pipeline_jobs.lineage import LINEAGE_FOLDER
from kedro_azureml_mlflow.pipeline_jobs.plan import DATA_OUTPUT

NAMED_OUTPUTS = "named-outputs"
LEFT_OUT = {MEMORY_FOLDER, LINEAGE_FOLDER}  # intermediate values and which runs made them: not project files


def download_outputs(workspace: AzureWorkspace, job: str, project_path: Path) -> list[Path]:
    """Copy every completed step's data into ``project_path``; returns the files written."""
    with workspace.errors(f"listing the steps of job '{job}'"):
        steps = list(workspace.ml_client.jobs.list(parent_job_name=job))
    if not steps:
        raise PluginError(f"job '{job}' has no steps: download is for pipeline jobs (submit --split-by)")
    written: list[Path] = []
    for step in steps:
        if step.status == "Completed":
            written += _step_files(workspace, step, project_path)
    return written


def _step_files(workspace: AzureWorkspace, step: Any, project_path: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="kedro-azureml-download-") as scratch:
        with workspace.errors(f"downloading the data of step '{step.display_name}'"):
            workspace.ml_client.jobs.download(step.name, download_path=scratch, output_name=DATA_OUTPUT)
        folder = Path(scratch) / NAMED_OUTPUTS / DATA_OUTPUT
        files = [p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in LEFT_OUT]
        written = []
        for file in files:
            target = project_path / file.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
            written.append(target)
        return written
