"""``submit --wait`` of a pipeline job: which step started, finished or failed, as it happens.

The pipeline job's own status says little (``Running`` until the last step ends); its steps are its
child jobs, listed at each poll. A step that appears or changes status is one line; a step that
failed is named at the end, with its log's tail.
"""

from __future__ import annotations

from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.pipeline_jobs.follow import steps_of

FAILED = "Failed"


class StepWatch:
    """The steps of one pipeline job as last seen; :meth:`changes` lists what changed since."""

    def __init__(self, workspace: AzureWorkspace, job: str) -> None:
        self.workspace = workspace
        self.job = job
        self._seen: dict[str, str] = {}  # step's child job -> its status
        self._steps: dict[str, Any] = {}

    def changes(self) -> list[str]:
        """One line per step that started or changed status since the last call."""
        lines = []
        for step in steps_of(self.workspace, self.job):
            name, status = str(step.name), str(step.status)
            self._steps[name] = step
            if self._seen.get(name) != status:
                self._seen[name] = status
                lines.append(f"step {step.display_name}: {status}")
        return lines

    def failed(self) -> list[Any]:
        """The steps last seen ``Failed``."""
        return [self._steps[name] for name, status in self._seen.items() if status == FAILED]
