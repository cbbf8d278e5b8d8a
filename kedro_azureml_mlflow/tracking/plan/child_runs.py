"""``tracking.child_runs: namespace``: which child run a node's records go to, and how the children's metrics
roll up to the run.

A step is a node's top-level namespace (as Kedro's ``group_nodes_by("namespace")`` and ``submit
--split-by namespace`` group them); a node without one stays in the run itself. The roll-up rule is
the pipeline job's (``pipeline_jobs/rollup.py`` uses it too): a key the run already holds (its own
nodes, or another step, logged it) is kept as ``<step>.<key>``, and a ``kedro.rollup.<key>`` tag says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from kedro_azureml_mlflow.tracking.wire.batching import Batch

STEP_TAG = "kedro.step"
NODES_TAG = "kedro.nodes"
NODES_TAG_LIMIT = 5000
ROLLUP_TAG_PREFIX = "kedro.rollup."
# Set in a pipeline job's step (pipeline_jobs/step_main): its run is already its namespace's run.
STEP_ENV = "KEDRO_AZUREML_MLFLOW_STEP"


def child_runs_wanted(setting: str) -> bool:
    """``tracking.child_runs: namespace``, except inside a pipeline job's step (its run is the step's child run
    already: its nodes' namespace is the step)."""
    return setting == "namespace" and STEP_ENV not in os.environ


def step_of(namespace: str | None) -> str | None:
    """The step (child run) of a node in ``namespace``: its top-level part; ``None``: the run itself."""
    return namespace.split(".")[0] if namespace else None


def steps_of(nodes: Iterable[Any]) -> dict[str, list[str]]:
    """Each step of these Kedro nodes and its nodes' names, in the pipeline's order."""
    steps: dict[str, list[str]] = {}
    for node in nodes:
        step = step_of(node.namespace)
        if step is not None:
            steps.setdefault(step, []).append(node.name)
    return steps


def step_tags(step: str, nodes: list[str]) -> list[tuple[str, str]]:
    """The tags of a step's run: the step, and its nodes (cut to what a tag holds)."""
    return [(STEP_TAG, step), (NODES_TAG, ",".join(nodes)[:NODES_TAG_LIMIT])]


def rolled_up(metrics: Mapping[str, float], held: set[str], step: str, time_ms: int) -> Batch:
    """``metrics`` of ``step``'s run as the parent logs them; ``held``: the parent's keys (updated).

    A key the parent holds already becomes ``<step>.<key>``, with a ``kedro.rollup.<key>`` tag saying so.
    """
    rolled = Batch()
    for key, value in sorted(metrics.items()):
        target = f"{step}.{key}" if key in held else key
        held.add(target)
        rolled.metrics.append((target, value, time_ms, 0))
        if target != key:
            rolled.tags.append((f"{ROLLUP_TAG_PREFIX}{key}", f"logged by more than one step; {step}'s is {target}"))
    return rolled
