"""A run and its child runs (``tracking.child_runs: namespace``): one sender each, one journal for all.

A record for a step's child run arrives as a ``StepRecord``; the child run is created on its step's first
record (or when node code asks for it), in the run's experiment, tagged ``mlflow.parentRunId`` and
``kedro.step``, with a key made of the run's key and the step (``records.child_run_key``) so that ``sync``
finds it instead of making a second one. What a child cannot send goes into the run's journal as step
records. At the end the children end with the run's status, then their metrics are rolled up to the run
(``plan/child_runs.rolled_up``, the pipeline job's rule), then the run ends. Without child runs this is
the run's sender alone, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.tracking.agent.sender import RunSender
from kedro_azureml_mlflow.tracking.plan.child_runs import rolled_up
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import Record, RunEnd, StepRecord, child_header

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


class RunFamily:
    """Used by the session's own thread only (as its sender was)."""

    def __init__(self, parent: RunSender, connect: Callable[[], MlflowClient]) -> None:
        self.parent = parent
        self._connect = connect
        self.children: dict[str, RunSender] = {}

    @property
    def requests(self) -> int:
        return self.parent.requests + sum(child.requests for child in self.children.values())

    @property
    def dropped(self) -> list[str]:
        """What the server refused for good, in any run of the family."""
        return [problem for sender in [self.parent, *self.children.values()] for problem in sender.dropped]

    def send(self, records: list[Record]) -> None:
        """Each record to its run, in order within each run (batches of one run are merged as before)."""
        by_run: dict[str | None, list[Record]] = {}
        for record in records:
            step = record.step if isinstance(record, StepRecord) else None
            by_run.setdefault(step, []).append(record.record if isinstance(record, StepRecord) else record)
        for step, own in by_run.items():
            new = step is not None and step not in self.children
            left = self._open_with_tags(step, own) if step is not None and new else own
            sender = self.sender(step)
            sender.send(left)
            self._spread_trouble(sender)

    def _open_with_tags(self, step: str, records: list[Record]) -> list[Record]:
        """Open the child of ``step`` with the tags of its first records (``kedro.nodes``: one request fewer);
        the records left to send (all of them, if it could not be opened: they are journaled, tags too)."""
        tags = dict(tag for record in records if isinstance(record, Batch) for tag in record.tags)
        child = self.children[step] = self._open_child(step, tags)
        if child.run_id is None or child.degraded:
            return records
        return [replace(record, tags=[]) if isinstance(record, Batch) else record for record in records]

    def sender(self, step: str | None) -> RunSender:
        """The run's sender, or its child run's for ``step`` (opened on first use)."""
        if step is None:
            return self.parent
        child = self.children.get(step)
        if child is None:
            child = self.children[step] = self._open_child(step, {})
        return child

    def run_info(self, step: str | None) -> dict[str, Any] | None:
        return self.sender(step).run_info()

    def set_deadline(self, deadline: float) -> None:
        """Past ``deadline`` (``time.monotonic()``) every run of the family journals what is left."""
        for sender in [self.parent, *self.children.values()]:
            sender.deadline = deadline

    def finish(self, status: str, end_time_ms: int) -> None:
        """End the children with the run's status, roll their metrics up, end the run."""
        for child in self.children.values():
            child.finish(status, end_time_ms)
        self._roll_up()
        self.parent.finish(status, end_time_ms)

    def journal_ends(self, status: str, end_time_ms: int) -> None:
        """A session given up: the children's ends go into the journal with the rest (``sync`` sends them)."""
        for step in list(self.children):  # the session thread may still be adding one (a watchdog calls this)
            self.parent.journal.write(StepRecord(step, RunEnd(status, end_time_ms)))

    def _open_child(self, step: str, tags: dict[str, str]) -> RunSender:
        """``tags``: its first records' (sent with its creation, one request fewer)."""
        parent = self.parent
        header = child_header(parent.header, parent.run_id or "", step, int(time.time() * 1000))
        child = RunSender(
            replace(header, tags={**tags, **header.tags}),
            parent.journal,
            self._connect,
            resume=False,
            step=step,
        )
        child.deadline = parent.deadline
        info = parent.run_info() if parent.run_id is not None and not parent.degraded else None
        if info is None:  # no run to be a child of (yet): journaled, `sync` creates it under the run
            child.open(failure=RuntimeError("the run itself could not be opened"))
        else:
            child.open(experiment_id=str(info["experiment_id"]))
            self._spread_trouble(child)
        return child

    def _spread_trouble(self, sender: RunSender) -> None:
        """One run's sender found the server in trouble: the others journal too, instead of each trying."""
        if not sender.degraded:
            return
        for other in [self.parent, *self.children.values()]:
            if not other.degraded:
                other.give_up()

    def _roll_up(self) -> None:
        if not self.children:
            return
        held = self.parent.metrics()
        if held is None:
            return
        keys, rolled = set(held), Batch()
        now = int(time.time() * 1000)
        for step, child in self.children.items():
            metrics = child.metrics()
            if metrics:
                rolled.extend(rolled_up(metrics, keys, step, now))
        if rolled:
            self.parent.send([rolled])
