"""The pipeline process's end of a tracking session: hand records to the agent, never wait on it.

A thread reaches the agent (starting one if needed) and then reads its answers; until it is
connected, messages wait in memory. Records are numbered and kept until the agent says they
are settled (sent or journaled), so if the agent dies, or does not report within
``max_wait`` after the end, this process journals what is still unsettled itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.errors import first_line
from kedro_azureml_mlflow.tracking.channel import receive, send
from kedro_azureml_mlflow.tracking.journal import Journal, RunHeader, new_run_key
from kedro_azureml_mlflow.tracking.protocol import (
    ASK_RUN,
    END,
    KILLED,
    RECORD,
    REPORT,
    RUN,
    SESSION,
    SETTLED,
    TARGET,
    Report,
    SessionSpec,
    now_ms,
    provisional_header,
)

logger = logging.getLogger(__name__)

Reach = Callable[[], Connection]


class AgentLink:
    """Thread-safe; ``hand`` never blocks on the agent (only on a local socket write)."""

    def __init__(self, spec: SessionSpec, reach: Reach) -> None:
        self.spec = spec
        self._reach = reach
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._conn: Connection | None = None
        self._early: list[dict[str, Any]] = []
        self._outbox: dict[int, dict[str, Any]] = {}
        self._seq = 0
        self._broken: str | None = None
        self._replies: dict[str, dict[str, Any]] = {}
        self._run_id: str | None = None
        self._header: dict[str, Any] | None = None
        self._journal: Journal | None = None
        self._closed = False
        self._end_by: float | None = None  # time.monotonic() when the run's one wait after the pipeline ends
        threading.Thread(target=self._connect_and_read, name="kedro-azureml-mlflow-link", daemon=True).start()
        atexit.register(self._at_exit)

    # --- the pipeline's side ------------------------------------------------------------------

    def open_run(self, run_name: str, tags: dict[str, str], start_time_ms: int) -> None:
        header = {"run_name": run_name, "tags": tags, "start_time_ms": start_time_ms, "run_key": new_run_key()}
        with self._cond:
            self._header = header
            self._post({"op": RUN, "header": header})

    @property
    def run_header(self) -> dict[str, Any] | None:
        """The ``run`` message sent by ``open_run`` (``None`` before it), for worker processes."""
        return self._header

    def hand(self, record: dict[str, Any]) -> None:
        with self._cond:
            self._seq += 1
            self._outbox[self._seq] = record
            self._post({"op": RECORD, "seq": self._seq, "record": record})
            if self._broken is not None:
                self._journal_unsettled()

    def run_info(self, timeout: float) -> dict[str, Any] | None:
        """The run's info for node code (asked of the agent once), or ``None`` past ``timeout``."""
        with self._cond:
            if RUN not in self._replies:
                self._post({"op": ASK_RUN})
        answer = self.wait_for(RUN, timeout)
        return answer.get("info") if answer else None

    def wait_for(self, op: str, timeout: float) -> dict[str, Any] | None:
        """The agent's ``op`` answer (``target``, ``run``, ``report``), or ``None`` past ``timeout``.

        Never past the end of the run's wait (``end_by``): whoever waits then (node code, a model
        being saved, the end itself) shares the one ``max_wait`` that follows the pipeline.
        """
        limit = time.monotonic() + timeout
        with self._cond:
            while op not in self._replies and self._broken is None:
                left = min(limit, self._end_by if self._end_by is not None else limit) - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._replies.get(op)

    def end_by(self, deadline: float) -> None:
        """The pipeline has ended: every wait on the agent ends by ``deadline`` (``time.monotonic()``)."""
        with self._cond:
            self._end_by = deadline if self._end_by is None else min(self._end_by, deadline)
            self._cond.notify_all()

    def discard(self) -> None:
        """Nothing is tracked after all (a disabled pipeline, a failed check): end quietly."""
        with self._cond:
            self._closed = True
            self._post({"op": END, "status": None, "end_time_ms": now_ms()})

    def close(self, status: str) -> Report:
        """End the run with ``status``; wait for the agent's report until ``end_by`` (else ``max_wait``)."""
        end_time = now_ms()
        self.end_by(time.monotonic() + self.spec.max_wait)
        with self._cond:
            self._closed = True
            self._post({"op": END, "status": status, "end_time_ms": end_time})
        answer = self.wait_for(REPORT, self.spec.max_wait)
        with self._cond:
            if answer is None:
                if self._broken is None:
                    self._broken = f"no report from the tracking agent within {self.spec.max_wait:g} s"
                self._journal_unsettled()
                self._journal_write({"end": status, "end_time_ms": end_time})
            if self._journal is not None:
                self._journal.close()  # `kedro azureml sync` may replay it now
            return self._report(answer)

    # --- inside (the condition's lock held) ---------------------------------------------------

    def _post(self, message: dict[str, Any]) -> None:
        if self._broken is not None:
            return
        if self._conn is None:
            self._early.append(message)
            return
        try:
            send(self._conn, message)
        except OSError as exc:
            self._broken = f"the tracking agent went away ({first_line(exc)})"

    def _journal_unsettled(self) -> None:
        if self._header is None:
            return  # no run was asked for yet: there is nothing to keep
        for seq in sorted(self._outbox):
            self._journal_write(self._outbox.pop(seq))

    def _journal_write(self, record: dict[str, Any]) -> None:
        if self._header is None:
            return
        if self._journal is None:
            self._journal = Journal(Path(self.spec.journal_dir), self._fallback_header())
            logger.warning("MLflow: %s; keeping the rest in %s", self._broken, self._journal.path)
        self._journal.write(record)

    def _fallback_header(self) -> RunHeader:
        uri = (self._replies.get(TARGET) or {}).get("tracking_uri")
        return provisional_header(self.spec.target, self._header, self._run_id, uri)

    def _report(self, answer: dict[str, Any] | None) -> Report:
        report = Report.from_json(answer) if answer else Report(run_id=self._run_id, description="")
        if self._journal is not None and self._journal.records:
            report.journaled += self._journal.records
            report.journal_path = report.journal_path or str(self._journal.path)
        return report

    # --- the link's thread --------------------------------------------------------------------

    def _connect_and_read(self) -> None:
        try:
            conn = self._reach()
        except Exception as exc:  # noqa: BLE001 - no agent: this process journals instead
            self._lose(f"could not reach the tracking agent ({first_line(exc)})")
            return
        with self._cond:
            self._conn = conn
            self._cond.notify_all()
            early, self._early = self._early, []
            for message in [{"op": SESSION, "spec": self.spec.to_json()}, *early]:
                self._post(message)
        while True:
            try:
                message = receive(conn)
            except (EOFError, OSError, ValueError):
                self._lose("the tracking agent went away")
                return
            if self._take(message):
                return

    def _take(self, message: dict[str, Any]) -> bool:
        """Note one answer from the agent; whether it was the last (the report)."""
        op = str(message.get("op"))
        with self._cond:
            if op == SETTLED:
                for seq in [s for s in self._outbox if s <= int(message["seq"])]:
                    del self._outbox[seq]
            else:
                self._replies[op] = message
            if op == RUN and message.get("info"):
                self._run_id = message["info"]["run_id"]
            self._run_id = message.get("run_id") or self._run_id
            self._cond.notify_all()
        return op == REPORT

    def _lose(self, why: str) -> None:
        with self._cond:
            if REPORT in self._replies:
                return
            self._broken = self._broken or why
            if self._closed or self._header is not None:
                self._journal_unsettled()
            self._cond.notify_all()

    def _at_exit(self) -> None:
        """Ctrl-C (or any exit without ``after_pipeline_run``): end the run KILLED, bounded."""
        if os.getpid() != self._pid or self._closed:
            return
        started = time.monotonic()
        report = self.close(KILLED)
        took = time.monotonic() - started
        if report.run_id is not None:
            logger.info("MLflow: run %s marked KILLED (%.1f s)", report.run_id, took)
        elif report.journaled:
            logger.warning(
                "MLflow: interrupted before the run was opened; what it had is in %s: send it with `kedro azureml sync`",  # noqa: E501 - one message, as the docs show it
                report.journal_path,
            )
        else:
            logger.info("MLflow: interrupted before the run was opened; nothing was tracked (%.1f s)", took)
