"""Send one run's records, in order, by run id; journal whatever the server does not take.

Used by the tracking agent's session thread (synchronously: the agent is already off the
pipeline's critical path). After one failed request the rest is journaled at once instead of
waiting on retries for every request; past the session's deadline, likewise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.wire.batching import Batch, chunk
from kedro_azureml_mlflow.tracking.wire.records import Record, RunEnd, RunHeader, for_step

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)


class RunSender:
    """Owns one MLflow run by id: opens (or resumes) it, sends records, ends it."""

    def __init__(
        self,
        header: RunHeader,
        journal: Journal,
        connect: Callable[[], MlflowClient],
        resume: bool,
        step: str | None = None,
    ) -> None:
        """``step``: this is the run's child run of that step; what it journals goes into the run's journal as
        step records."""
        self.header = header
        self.journal = journal
        self.step = step
        self._connect = connect
        self._resume = resume
        self._client: MlflowClient | None = None
        self.run_id = header.run_id
        self.requests = 0
        self.dropped: list[str] = []
        self.deadline: float | None = None  # time.monotonic() past which everything is journaled
        self._degraded = False
        self._info: dict[str, Any] | None = None
        self.aborted = False

    @property
    def ends_run(self) -> bool:
        return not self._resume

    def open(
        self,
        restore: bool = False,
        lookup: client_ops.ExperimentLookup | None = None,
        failure: BaseException | None = None,
        experiment_id: str | None = None,
    ) -> None:
        """Open (or resume) the run; ``restore``, ``lookup``: as for ``client_ops.experiment_id_for``.

        ``failure``: why looking the experiment up failed already (a deleted experiment, the server
        down): the run is not opened and everything is journaled, without trying again.
        ``experiment_id``: the experiment, known already (a child run's), not looked up.
        """
        if failure is not None:
            self._fail("opening the MLflow run", failure)
            return
        try:
            self._client = self._connect()
            if self._resume:
                # The run belongs to the job / `mlflow run`: keep its own mlflow.* tags as they are.
                self._send_part(
                    Batch(tags=[(k, v) for k, v in self.header.tags.items() if not k.startswith("mlflow.")])
                )
            else:
                self._info = client_ops.open_run(self._client, self.header, restore, lookup, experiment_id)
                self.run_id = self._info["run_id"]
                if self.step is None:  # a child run's id is found by its key, the journal's header is its parent's
                    self.journal.header = replace(self.header, run_id=self.run_id)
                self.requests += 1 if experiment_id else 2
        except Exception as exc:  # noqa: BLE001 - any failure to reach the server is journaled
            self._fail("opening the MLflow run", exc)

    def run_info(self) -> dict[str, Any] | None:
        """The run's info for node code's MLflow calls, or ``None`` if unreachable."""
        if self._info is not None or self.run_id is None or self._degraded:
            return self._info
        try:
            run = self._connected().get_run(self.run_id)
        except Exception as exc:  # noqa: BLE001 - any failure of the store: node code logs without the run
            self._fail("reading the MLflow run", exc)
            return None
        self.requests += 1
        self._info = client_ops.info_of(run)
        return self._info

    @property
    def degraded(self) -> bool:
        """The server failed once: the rest is journaled."""
        return self._degraded

    def give_up(self) -> None:
        """Journal from now on: the server failed another run of the same family (which said so)."""
        self._degraded = True

    def metrics(self) -> dict[str, float] | None:
        """The run's latest value of each metric (node code's too); ``None`` if it cannot be read."""
        if not self._live():
            return None
        try:
            metrics = dict(self._connected().get_run(str(self.run_id)).data.metrics)
        except Exception as exc:  # noqa: BLE001 - the roll-up is best effort, the runs keep their metrics
            logger.warning("Could not read the metrics of run %s to roll them up: %s", self.run_id, first_line(exc))
            return None
        self.requests += 1
        return metrics

    def send(self, records: list[Record]) -> None:
        """Send ``records`` in order; consecutive batches are merged into as few requests as fit."""
        for record in merged(records):
            if isinstance(record, Batch):
                for part in chunk(record):
                    self._send_part(part)
            else:
                self._send_other(record)

    def finish(self, status: str, end_time_ms: int) -> None:
        """End the run (unless resumed: its owner ends it)."""
        if self.ends_run:
            self._send_other(RunEnd(status, end_time_ms))

    def end_directly(self, status: str, end_time_ms: int) -> bool:
        """End the opened run in one request, whatever came before (a failed session); whether it ended."""
        if self.run_id is None or self._client is None or not self.ends_run:
            return False
        try:
            client_ops.end_run(self._client, self.run_id, status, end_time_ms)
        except Exception as exc:  # noqa: BLE001 - the end is journaled instead
            logger.warning("Could not end the run %s: %s", self.run_id, first_line(exc))
            return False
        self.requests += 1
        return True

    def abort(self) -> None:
        """A run created after the session was given up (its records are journaled without it): end it KILLED."""
        self.aborted = True
        if self.run_id is None or not self.ends_run:
            return
        try:
            client_ops.end_run(self._connected(), self.run_id, "KILLED", int(time.time() * 1000))
        except Exception as exc:  # noqa: BLE001 - nothing more to do; the journal has everything
            logger.warning("Could not end the late run %s: %s", self.run_id, first_line(exc))

    def _send_part(self, part: Batch) -> None:
        if not self._live():
            self._keep(part)
            return
        try:
            client_ops.log_request(self._connected(), str(self.run_id), part)
            self.requests += 1
        except Exception as exc:  # noqa: BLE001 - whatever the store raises, the part is journaled, not lost
            if not client_ops.is_permanent(exc):
                self._fail("logging to the MLflow run", exc)
                self._keep(part)
            elif part.size() > 1:
                # One refused entity (say, a param the resumed run already has with another
                # value) must not take the rest of its request down with it.
                for single in part.singles():
                    self._send_part(single)
            else:
                self.dropped.append(f"{_summary(part)}: {first_line(exc)}")
                logger.warning("MLflow refused %s: %s", _summary(part), first_line(exc))

    def _send_other(self, record: Record) -> None:
        if not self._live():
            self._keep(record)
            return
        try:
            client_ops.send_record(self._connected(), str(self.run_id), record)
            self.requests += 1
        except Exception as exc:  # noqa: BLE001 - whatever the store raises, the record is journaled, not lost
            self._fail("sending to the MLflow run", exc)
            self._keep(record)

    def _keep(self, record: Record) -> None:
        self.journal.write(for_step(self.step, record))

    def _connected(self) -> MlflowClient:
        """The client ``open`` made (records are sent only once the run is open, so there is one)."""
        if self._client is None:
            raise RuntimeError("the tracking server was never reached")
        return self._client

    def _live(self) -> bool:
        late = self.deadline is not None and time.monotonic() >= self.deadline
        if late and not self._degraded:
            self._fail("finishing", TimeoutError("tracking.max_wait_seconds is over"))
        return not self._degraded and self.run_id is not None

    def _fail(self, doing: str, exc: BaseException) -> None:
        if not self._degraded:
            logger.warning(
                "Tracking server trouble while %s (%s); keeping the rest in %s",
                doing,
                first_line(exc),
                self.journal.path,
            )
        self._degraded = True


def merged(records: list[Record]) -> Iterator[Record]:
    """Consecutive batch records as one (``chunk`` splits it again within limits); others as they are."""
    pending = Batch()
    for record in records:
        if isinstance(record, Batch):
            pending.extend(record)
            continue
        if pending:
            yield pending
            pending = Batch()
        yield record
    if pending:
        yield pending


def _summary(part: Batch) -> str:
    return f"{len(part.params)} params, {len(part.tags)} tags, {len(part.metrics)} metric values"
