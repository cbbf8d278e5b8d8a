"""A ParallelRunner worker's end of its parent's session: one connection per worker process.

The parent shares the agent's endpoint and the session id (a ``WorkerShare``, in the hand-off the hooks
write for workers; the authkey stays in its 0700 file). A worker sends its nodes' records straight to
the agent, which batches them with everyone else's; if the agent cannot be reached the worker journals
them, under the parent's run (its id when resumed, else its key), so `sync` puts them into that run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.pipeline_side.node_code import NodeCode
from kedro_azureml_mlflow.tracking.plan.metrics import MetricRules
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.channel import connect, receive, send
from kedro_azureml_mlflow.tracking.wire.protocol import (
    AskRun,
    HandRecord,
    Join,
    RunAnswer,
    WorkerShare,
    provisional_header,
    to_pipeline,
)
from kedro_azureml_mlflow.tracking.wire.records import STEP_RECORDS_VERSION, Record, from_wire, to_wire

_CONNECT_SECONDS = 5.0
_RETRY_SECONDS = 0.05


class WorkerLink:
    """Sends records synchronously over a local socket (microseconds); journals if it cannot."""

    def __init__(self, share: WorkerShare) -> None:
        self.share = share
        self.rules = MetricRules(share.patterns, share.separator)
        self.node_code = NodeCode(
            self.run_info, self.hand, lambda: share.run, from_wire(TargetSpec, share.target), share.max_wait, armed=True
        )
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._unreachable = False
        self._journal: Journal | None = None

    def hand(self, record: Record) -> None:
        with self._lock:
            conn = self._connection()
            if conn is not None:
                try:
                    send(conn, to_wire(HandRecord(record)))
                    return
                except OSError:
                    self._unreachable = True
            self._journal_write(record)

    @property
    def steps(self) -> dict[str, list[str]]:
        return self.share.steps

    def run_info(self, timeout: float, step: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            conn = self._connection()
            if conn is None:
                return None
            try:
                send(conn, to_wire(AskRun(step)))
                answer = to_pipeline(receive(conn)) if conn.poll(timeout) else None
            except (OSError, EOFError, ValueError):
                return None
        return answer.info if isinstance(answer, RunAnswer) else None

    def _connection(self) -> Connection | None:
        """Connected once; the agent may still be starting when the first worker needs it."""
        deadline = time.monotonic() + max(self.share.max_wait, _CONNECT_SECONDS)
        while self._conn is None and not self._unreachable:
            try:
                self._conn = connect(self.share.endpoint, _CONNECT_SECONDS)
                send(self._conn, to_wire(Join(self.share.session_id)))
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= deadline:
                    self._unreachable = True
                time.sleep(_RETRY_SECONDS)  # the agent's socket is not there yet
            except (OSError, EOFError, TimeoutError, ValueError):
                self._conn, self._unreachable = None, True
        return self._conn

    def _journal_write(self, record: Record) -> None:
        if self._journal is None:
            # The parent's run, by key; the parent's own journal (or agent) ends it, not this one.
            header = replace(provisional_header(self.share.target, self.share.run, None), ends_run=False)
            version = STEP_RECORDS_VERSION if self.share.steps else 1
            self._journal = Journal(Path(self.share.journal_dir), header, version)
        self._journal.write(record)
