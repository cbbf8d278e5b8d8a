"""At a step's end, on the compute: tag the step's run with its Kedro step and nodes, and roll its
metrics up to the pipeline job's run, so one run shows the whole pipeline's numbers.

The step does it itself, so nobody has to wait: a job submitted without ``--wait``, or resubmitted
from Studio, still ends with every step's metrics on the parent. Inside a step Azure ML sets
``MLFLOW_RUN_ID`` to the step's run and ``AZUREML_ROOT_RUN_ID`` to the pipeline's. A key the parent
already has (another step logged it) is kept as ``<step>.<key>``, and a ``kedro.rollup.<key>`` tag
says so. A step Azure ML reused runs nothing: the first step after it that runs rolls the original
run's metrics up in its name (:mod:`lineage`). Best effort: a tracking outage warns and never fails
the step (the step's own run keeps its metrics, and its journal is replayed by ``sync``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kedro_azureml_mlflow.pipeline_jobs.lineage import Lineage, reused
from kedro_azureml_mlflow.tracking.plan.child_runs import rolled_up, step_tags

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)
REUSED_TAG_PREFIX = "kedro.rollup.reused."


def finish_step(step: str, nodes: list[str], succeeded: bool, lineage: Lineage) -> None:
    """Tag the step's run; roll its metrics up (if it succeeded) and those of the steps reused before it."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if not run_id:
        return
    root = os.environ.get("AZUREML_ROOT_RUN_ID")
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        for key, value in step_tags(step, nodes):
            client.set_tag(run_id, key, value)
        if succeeded and root and root != run_id:
            roll_up(client, client.get_run(run_id).data.metrics, root, step)
        if root and root != run_id:
            roll_up_reused(client, reused(lineage, root), root)
    except Exception as exc:  # noqa: BLE001 - a tracking outage must not fail a step that ran
        logger.warning("Could not tag step %s's run or roll its metrics up to the pipeline's run: %s", step, exc)


def roll_up_reused(client: MlflowClient, originals: Mapping[str, str], root: str) -> None:
    """Each reused step's original run's metrics, rolled up once: a ``kedro.rollup.reused.<step>`` tag on the
    root says it was done (another step after the same reused one finds it and skips)."""
    held = client.get_run(root).data.tags
    for step, original in sorted(originals.items()):
        tag = f"{REUSED_TAG_PREFIX}{step}"
        if tag in held:
            continue
        roll_up(client, client.get_run(original).data.metrics, root, step)
        client.set_tag(root, tag, original)


def roll_up(client: MlflowClient, metrics: Mapping[str, float], root: str, step: str) -> None:
    """Log ``metrics`` to the root run; a key it already holds becomes ``<step>.<key>``, said in a tag
    (``tracking/plan/child_runs.rolled_up``: the rule a local run's child runs follow too)."""
    from mlflow.entities import Metric, RunTag

    held = set(client.get_run(root).data.metrics)
    rolled = rolled_up(metrics, held, step, int(time.time() * 1000))
    if rolled.metrics:
        client.log_batch(
            root,
            metrics=[Metric(key, value, at, index) for key, value, at, index in rolled.metrics],
            tags=[RunTag(key, value) for key, value in rolled.tags],
        )
