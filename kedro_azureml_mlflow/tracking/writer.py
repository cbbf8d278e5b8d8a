"""The tracking writer: one per run, off the pipeline's critical path.

Hooks hand it batches; a background thread imports MLflow, opens (or resumes) the run, and
sends what has accumulated every ``flush_interval`` seconds or when a full request's worth is
waiting. Whatever the server does not take is journaled, never raised into the pipeline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kedro_azureml_mlflow.errors import first_line
from kedro_azureml_mlflow.tracking import client_ops
from kedro_azureml_mlflow.tracking.artifact_ops import send_artifact
from kedro_azureml_mlflow.tracking.artifacts import ArtifactRecord
from kedro_azureml_mlflow.tracking.batching import MAX_METRICS_PER_BATCH, Batch, chunk
from kedro_azureml_mlflow.tracking.journal import Journal, RunHeader

logger = logging.getLogger(__name__)

_SEND_WHEN_PENDING = 4 * MAX_METRICS_PER_BATCH
_CLOSE = object()


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class WriterReport:
    """What happened to everything the run logged, for the closing message."""

    run_id: str | None
    journal: Journal
    requests: int = 0
    dropped: list[str] = field(default_factory=list)

    @property
    def journaled(self) -> int:
        return self.journal.records


class TrackingWriter:
    """Owns one MLflow run by id; thread-safe ``log``; ``close`` flushes and ends the run."""

    def __init__(
        self, header: RunHeader, journal: Journal, flush_interval: float, resume: bool, connect: Callable[[], Any]
    ) -> None:
        self.header = header
        self._connect = connect
        self.journal = journal
        self._flush_interval = flush_interval
        self._resume = resume
        self._queue: queue.Queue[Any] = queue.Queue()
        self._run_ready = threading.Event()
        self._client: Any = None
        self._degraded = False  # after one failed request, journal the rest instead of waiting on retries
        self.report = WriterReport(run_id=header.run_id, journal=journal)
        self._end: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self._work, name="kedro-azureml-mlflow-writer", daemon=True)

    def start(self) -> TrackingWriter:
        self._thread.start()
        return self

    def log(self, batch: Batch) -> None:
        if batch:
            self._queue.put(batch)

    def upload(self, record: ArtifactRecord) -> None:
        """Queue a file or folder for the run; the pipeline does not wait for the upload."""
        self._queue.put(record)

    def wait_for_run(self) -> str | None:
        """Block until the run exists (or could not be created); its id or ``None``."""
        self._run_ready.wait()
        return self.report.run_id

    def close(self, status: str) -> WriterReport:
        """Send everything, end the run with ``status`` (unless resumed: its owner ends it)."""
        self._end = (status, now_ms())
        self._queue.put(_CLOSE)
        self._thread.join(timeout=2.0)
        if self._thread.is_alive():
            logger.info("Waiting for the tracking server to take the last metrics…")
            self._thread.join()
        return self.report

    # --- background thread -------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._open()
        finally:
            self._run_ready.set()
        pending = Batch()
        deadline = time.monotonic() + self._flush_interval
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _CLOSE:
                break
            if isinstance(item, ArtifactRecord):
                self._send(pending)  # keep the order in which things were logged
                pending = Batch()
                self._send_artifact(item)
            elif item is not None:
                pending.extend(item)
            if pending.size() >= _SEND_WHEN_PENDING or time.monotonic() >= deadline:
                self._send(pending)
                pending = Batch()
                deadline = time.monotonic() + self._flush_interval
        self._send(pending)
        self._finish()

    def _open(self) -> None:
        try:
            self._client = self._connect()
            if self._resume:
                # The run belongs to the job / `mlflow run`: keep its own mlflow.* tags as they are.
                self._send(Batch(tags=[(k, v) for k, v in self.header.tags.items() if not k.startswith("mlflow.")]))
            else:
                self.report.run_id = client_ops.create_run(self._client, self.header)
                self.journal.header = replace(self.header, run_id=self.report.run_id)
                self.report.requests += 2
        except Exception as exc:  # noqa: BLE001 - any failure to reach the server is journaled
            self._fail("opening the MLflow run", exc)

    def _send(self, batch: Batch) -> None:
        for part in chunk(batch):
            self._send_part(part)

    def _send_part(self, part: Batch) -> None:
        if self._degraded or self.report.run_id is None:
            self.journal.write(part.to_json())
            return
        try:
            client_ops.log_request(self._client, self.report.run_id, part)
            self.report.requests += 1
        except Exception as exc:  # noqa: BLE001 - sorted below: a refusal is dropped, anything else journaled
            if not client_ops.is_permanent(exc):
                self._fail("logging to the MLflow run", exc)
                self.journal.write(part.to_json())
            elif part.size() > 1:
                # One refused entity (say, a param the resumed run already has with another
                # value) must not take the rest of its request down with it.
                for single in part.singles():
                    self._send_part(single)
            else:
                self.report.dropped.append(f"{_summary(part)}: {first_line(exc)}")
                logger.warning("MLflow refused %s: %s", _summary(part), first_line(exc))

    def _send_artifact(self, record: ArtifactRecord) -> None:
        """Upload one file or folder; what cannot be sent is journaled with a kept copy of it."""
        if not self._degraded and self.report.run_id is not None:
            try:
                send_artifact(self._client, self.report.run_id, record)
            except FileNotFoundError as exc:
                self.report.dropped.append(f"artifact {record.destination}: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - any failure to upload is journaled
                self._fail(f"uploading {record.destination}", exc)
            else:
                return
        self.journal.write(record.to_json())  # the journal keeps a copy of the file

    def _finish(self) -> None:
        status, end_time = self._end or ("FINISHED", now_ms())
        if self._resume:
            return
        if self._degraded or self.report.run_id is None:
            self.journal.write({"end": status, "end_time_ms": end_time})
            return
        try:
            client_ops.end_run(self._client, self.report.run_id, status, end_time)
            self.report.requests += 1
        except Exception as exc:  # noqa: BLE001 - the run's end is journaled, whatever stopped it
            self._fail("ending the MLflow run", exc)
            self.journal.write({"end": status, "end_time_ms": end_time})

    def _fail(self, doing: str, exc: BaseException) -> None:
        if not self._degraded:
            logger.warning(
                "Tracking server trouble while %s (%s); keeping the rest in %s",
                doing,
                first_line(exc),
                self.journal.path,
            )
        self._degraded = True


def _summary(part: Batch) -> str:
    return f"{len(part.params)} params, {len(part.tags)} tags, {len(part.metrics)} metric values"
