"""What a run already holds of a record whose delivery is uncertain, so sending it again is harmless.

A replay that died between sending a record and noting it sent (``replay_progress``) cannot know
whether the server took it. Resending blindly would duplicate metric history on stores that keep
every value (Azure ML) and fail on params on stores that refuse them twice. So for that one record
replay asks the run what it holds and sends only the rest. Each record kind has one branch in
:func:`unsent_part`; the same goes for creating a run (:func:`find_created_run`).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.wire.batching import Batch, MetricRecord
from kedro_azureml_mlflow.tracking.wire.records import ArtifactUpload, Record, RunHeader

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def unsent_part(client: MlflowClient, run_id: str, record: Record) -> Record | None:
    """The part of ``record`` the run does not hold yet; ``None`` if it holds all of it."""
    if isinstance(record, Batch):
        return _unsent_batch(client, run_id, record)
    if isinstance(record, ArtifactUpload):
        # Uploading again overwrites the same files and a version is registered once; the kept copy
        # is deleted only after a whole send, so a copy already gone was delivered.
        return record if Path(record.artifact.local_path).exists() else None
    return record  # ending a run again with the same status and time changes nothing


def find_created_run(client: MlflowClient, header: RunHeader, experiment_id: str | None = None) -> str | None:
    """The run an earlier attempt created for ``header`` (found by its ``kedro.run_key`` tag), if any;
    ``experiment_id``: where to look (else the header's experiment, by name)."""
    if experiment_id is None:
        experiment = client.get_experiment_by_name(header.experiment_name or "Default")
        if experiment is None:
            return None
        experiment_id = str(experiment.experiment_id)
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{client_ops.RUN_KEY_TAG}` = '{header.run_key}'",
        max_results=1,
    )
    return str(found[0].info.run_id) if found else None


def _unsent_batch(client: MlflowClient, run_id: str, batch: Batch) -> Batch | None:
    data = client.get_run(run_id).data
    rest = Batch(
        metrics=_missing_metrics(client, run_id, batch.metrics),
        params=[(key, value) for key, value in batch.params if data.params.get(key) != value],
        tags=[(key, value) for key, value in batch.tags if data.tags.get(key) != value],
    )
    return rest if rest else None


def _missing_metrics(client: MlflowClient, run_id: str, metrics: list[MetricRecord]) -> list[MetricRecord]:
    """Each value not yet in its key's history (as many times as the record has it)."""
    held: Counter[tuple[str, Any, int, int]] = Counter()
    for key in dict.fromkeys(key for key, _, _, _ in metrics):
        held.update(_identity(m.key, m.value, m.timestamp, m.step) for m in client.get_metric_history(run_id, key))
    missing = []
    for metric in metrics:
        identity = _identity(*metric)
        if held[identity] > 0:
            held[identity] -= 1
        else:
            missing.append(metric)
    return missing


def _identity(key: str, value: float, timestamp: int, step: int) -> tuple[str, Any, int, int]:
    number = float(value)
    return key, ("nan" if math.isnan(number) else number), int(timestamp), int(step)
