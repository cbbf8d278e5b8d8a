"""Step records (``tracking.child_runs``) replayed against a real SQLite store: into the child run the agent
created (found by its key, never a second one), or into one created under the run; each value once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import (
    STEP_RECORDS_VERSION,
    Record,
    RunEnd,
    RunHeader,
    StepRecord,
    child_header,
)
from tests.sqlite_store import migrated_sqlite_uri

EXPERIMENT = "child-runs-replay"
T0 = 1_700_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> str:
    return migrated_sqlite_uri(tmp_path)


def parent_header(uri: str, run_id: str | None = None) -> RunHeader:
    return RunHeader(uri, EXPERIMENT, run_id, "__default__", {"kedro.pipeline": "__default__"}, T0, run_key="key1")


def journal_of(directory: Path, header: RunHeader, records: list[Record]) -> Path:
    journal = Journal(directory, header, STEP_RECORDS_VERSION)
    for record in records:
        journal.write(record)
    journal.close()
    return journal.path


def all_runs(uri: str) -> list[Any]:
    client = client_ops.make_client(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id]) if experiment else []


def test_a_child_the_agent_created_gets_its_journaled_records_and_keeps_its_end(tmp_path: Path, store: str) -> None:
    """An outage in the middle of a run: the child was created and ended live, one of its batches journaled."""
    client = client_ops.make_client(store)
    parent = client_ops.open_run(client, parent_header(store))
    child_id = client_ops.create_run(client, child_header(parent_header(store), parent["run_id"], "prep", T0))
    for run_id in (child_id, parent["run_id"]):
        client_ops.end_run(client, run_id, "FINISHED", T0 + 9)
    path = journal_of(
        tmp_path,
        parent_header(store, parent["run_id"]),
        [StepRecord("prep", Batch(metrics=[("prep_metrics.rows", 3.0, T0 + 1, 0)]))],
    )

    outcome = replay_journal(path, client_ops.make_client)
    assert (outcome.sent, outcome.set_aside, outcome.stopped) == (1, [], None)
    assert len(all_runs(store)) == 2  # no second child
    child = client.get_run(child_id)
    assert child.data.metrics == {"prep_metrics.rows": 3.0}
    assert child.info.status == "FINISHED"  # ended live: not ended again
    assert client.get_run(parent["run_id"]).data.metrics == {}  # the child's metric went to the child only
    assert not path.exists()  # delivered: nothing left for a second sync
    assert len(client.get_metric_history(child_id, "prep_metrics.rows")) == 1


def test_a_run_never_opened_gets_its_children_created_under_it_and_ended_as_it(tmp_path: Path, store: str) -> None:
    """A whole run journaled (the server was down): the children are created under the run replay creates."""
    path = journal_of(
        tmp_path,
        parent_header(store),
        [
            Batch(params=[("model.alpha", "0.25")], metrics=[("summary_metrics", 1.5, T0 + 3, 0)]),
            StepRecord("train", Batch(metrics=[("fit_metrics.acc", 0.9, T0 + 2, 0)], tags=[("kedro.nodes", "fit")])),
            StepRecord("prep", Batch(metrics=[("prep_metrics.rows", 3.0, T0 + 1, 0)])),
            StepRecord("prep", RunEnd("FAILED", T0 + 8)),
            RunEnd("FAILED", T0 + 9),
        ],
    )

    outcome = replay_journal(path, client_ops.make_client)
    assert (outcome.sent, outcome.set_aside, outcome.stopped) == (5, [], None)
    runs = {run.data.tags.get("kedro.step"): run for run in all_runs(store)}
    assert set(runs) == {None, "prep", "train"}
    parent = runs[None]
    assert parent.info.status == "FAILED" and parent.data.metrics == {"summary_metrics": 1.5}
    for step in ("prep", "train"):
        assert runs[step].data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert runs[step].info.experiment_id == parent.info.experiment_id
    assert runs["prep"].data.metrics == {"prep_metrics.rows": 3.0}
    assert runs["train"].data.metrics == {"fit_metrics.acc": 0.9}
    assert runs["train"].data.tags["kedro.nodes"] == "fit"
    # `prep` ended by its own record; `train` had none in the journal: it ends as the run did.
    assert runs["prep"].info.status == runs["train"].info.status == "FAILED"
