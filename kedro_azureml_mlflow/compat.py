"""The only place that touches private names of azure / azureml / mlflow (pinned by tests).

Each function says which private name it uses and why no public API does the job.
"""

from __future__ import annotations

from typing import Any

_RUN_INFO_FIELDS = (
    "run_id",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "run_name",
)


def activate_run(info: dict[str, Any]) -> None:
    """Make the plugin's run the active MLflow run of every thread of this process, without a request.

    ``mlflow.start_run(run_id=…)`` would send two requests from the pipeline process, is
    thread-local (ThreadRunner's threads would open runs of their own), and makes MLflow end
    the run FINISHED at exit, over the plugin's status. ``MLFLOW_RUN_ID`` is consumed by the first
    ``start_run`` and cleared by the first ``end_run`` (autologging ends the runs it starts), so
    later calls open a second run. The fluent API keeps its active runs in
    ``mlflow.tracking.fluent._active_run_stack``: one stack per thread, made by ``default_factory``.
    """
    from mlflow.entities import Run, RunData, RunInfo
    from mlflow.tracking import fluent

    fields = {name: info.get(name) for name in _RUN_INFO_FIELDS}
    run = fluent.ActiveRun(Run(RunInfo(**fields), RunData()))  # type: ignore[no-untyped-call]  # MLflow is untyped
    stacks = fluent._active_run_stack
    stacks.default_factory = lambda: [run]  # threads that have not used MLflow yet
    for stack in stacks.get_all_thread_values().values():
        if not stack:
            stack.append(run)  # threads that have, and have no run of their own


def deactivate_run(run_id: str) -> None:
    """Take the plugin's run off every thread's stack again (never ends it: see above)."""
    from mlflow.tracking import fluent

    stacks = fluent._active_run_stack
    stacks.default_factory = list
    for stack in stacks.get_all_thread_values().values():
        stack[:] = [run for run in stack if run.info.run_id != run_id]
