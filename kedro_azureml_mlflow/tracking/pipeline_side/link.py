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
from typing import Any, TypeVar

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.wire.channel import receive, send
from kedro_azureml_mlflow.tracking.wire.protocol import (
    KILLED,
    AskRun,
    EndRun,
    ExperimentAnswer,
    HandRecord,
    OpenRun,
    OpenSession,
    Report,
    RunAnswer,
    RunStart,
    SessionSpec,
    Settled,
    TargetAnswer,
    ToAgent,
    ToPipeline,
    now_ms,
    provisional_header,
    to_pipeline,
)
from kedro_azureml_mlflow.tracking.wire.records import STEP_RECORDS_VERSION, Record, RunEnd, RunHeader, to_wire

logger = logging.getLogger(__name__)

Reach = Callable[[], Connection]
Answer = TypeVar("Answer", TargetAnswer, ExperimentAnswer, RunAnswer, Report)


class AgentLink:
    """Thread-safe; ``hand`` never blocks on the agent (only on a local socket write)."""

    def __init__(self, spec: SessionSpec, reach: Reach) -> None:
        self.spec = spec
        self._reach = reach
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._conn: Connection | None = None
        self._early: list[ToAgent] = []
        self._outbox: dict[int, Record] = {}
        self._seq = 0
        self._broken: str | None = None
        self._replies: dict[type, ToPipeline] = {}
        self._run_infos: dict[str | None, RunAnswer] = {}  # by step (None: the run itself)
        self._run_id: str | None = None
        self._header: RunStart | None = None
        self._journal: Journal | None = None
        self._closed = False
        self._experiment_said = False  # a deleted experiment is said once per run
        self._ended_at: float | None = None  # time.monotonic() when the pipeline ended (see start_end_budget)
        self._end_by: float | None = None  # and when the one wait after it ends
        threading.Thread(target=self._connect_and_read, name="kedro-azureml-mlflow-link", daemon=True).start()
        atexit.register(self._at_exit)

    # --- the pipeline's side ------------------------------------------------------------------

    def open_run(self, run_name: str, tags: dict[str, str], start_time_ms: int) -> None:
        header = RunStart(run_name, tags, start_time_ms)
        with self._cond:
            self._header = header
            self._post(OpenRun(header))
            answer = self._replies.get(ExperimentAnswer)
        if isinstance(answer, ExperimentAnswer):
            self._say_experiment_once(answer)  # the agent looked it up before the run was asked for

    @property
    def run_header(self) -> RunStart | None:
        """The ``run`` message sent by ``open_run`` (``None`` before it), for worker processes."""
        return self._header

    def hand(self, record: Record) -> None:
        with self._cond:
            self._seq += 1
            self._outbox[self._seq] = record
            self._post(HandRecord(record, self._seq))
            if self._broken is not None:
                self._journal_unsettled()

    def run_info(self, timeout: float, step: str | None = None) -> dict[str, Any] | None:
        """The run's info for node code (its child run's for ``step``; asked of the agent once), or ``None`` past
        ``timeout``."""
        with self._cond:
            if step not in self._run_infos:
                self._post(AskRun(step))
            self._wait_until(lambda: step in self._run_infos, timeout)
            answer = self._run_infos.get(step)
            return answer.info if answer else None

    def wait_for(self, kind: type[Answer], timeout: float) -> Answer | None:
        """The agent's answer of this kind (``TargetAnswer``, ``RunAnswer``, ``Report``…); ``None`` past ``timeout``.

        Never past the end of the run's wait (``start_end_budget``): whoever waits then (node code, a
        model being saved, the end itself) shares the one ``max_wait`` that follows the pipeline.
        """
        with self._cond:
            self._wait_until(lambda: kind in self._replies, timeout)
            answer = self._replies.get(kind)
            return answer if isinstance(answer, kind) else None

    def _wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Wait (holding ``_cond``) until ``ready()``, the link breaks, ``timeout`` passes or the end's budget does."""
        limit = time.monotonic() + timeout
        while not ready() and self._broken is None:
            left = min(limit, self._end_by if self._end_by is not None else limit) - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def start_end_budget(self) -> float:
        """The pipeline has ended: from now on every wait on the agent shares one ``max_wait`` (the
        ``EndBudget``'s pipeline share); when that began (``time.monotonic()``), the first call's moment."""
        with self._cond:
            if self._ended_at is None:
                self._ended_at = time.monotonic()
                self._end_by = self._ended_at + self.spec.budget.pipeline_seconds
                self._cond.notify_all()
            return self._ended_at

    def discard(self) -> None:
        """Nothing is tracked after all (a disabled pipeline, a failed check): end quietly."""
        with self._cond:
            self._closed = True
            self._post(EndRun(None, now_ms()))

    def close(self, status: str) -> Report:
        """End the run with ``status``; wait for the agent's report within the end's budget (``start_end_budget``)."""
        end_time = now_ms()
        self.start_end_budget()
        with self._cond:
            self._closed = True
            self._post(EndRun(status, end_time))
        answer = self.wait_for(Report, self.spec.budget.pipeline_seconds)
        with self._cond:
            if answer is None:
                if self._broken is None:
                    self._broken = f"no report from the tracking agent within {self.spec.max_wait:g} s"
                self._journal_unsettled()
                self._journal_write(RunEnd(status, end_time))
            if self._journal is not None:
                self._journal.close()  # `kedro azureml sync` may replay it now
            return self._report(answer)

    # --- inside (the condition's lock held) ---------------------------------------------------

    def _post(self, message: ToAgent) -> None:
        if self._broken is not None:
            return
        if self._conn is None:
            self._early.append(message)
            return
        try:
            send(self._conn, to_wire(message))
        except OSError as exc:
            self._broken = f"the tracking agent went away ({first_line(exc)})"

    def _journal_unsettled(self) -> None:
        if self._header is None:
            return  # no run was asked for yet: there is nothing to keep
        for seq in sorted(self._outbox):
            self._journal_write(self._outbox.pop(seq))

    def _journal_write(self, record: Record) -> None:
        if self._header is None:
            return
        if self._journal is None:
            version = STEP_RECORDS_VERSION if self.spec.child_runs else 1
            self._journal = Journal(Path(self.spec.journal_dir), self._fallback_header(), version)
            logger.warning("MLflow: %s; keeping the rest in %s", self._broken, self._journal.path)
        self._journal.write(record)

    def _fallback_header(self) -> RunHeader:
        target = self._replies.get(TargetAnswer)
        uri = target.tracking_uri if isinstance(target, TargetAnswer) else None
        return provisional_header(self.spec.target, self._header, self._run_id, uri)

    def _report(self, answer: Report | None) -> Report:
        report = answer or Report(run_id=self._run_id, description="")
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
            for message in [OpenSession(self.spec), *early]:
                self._post(message)
        while True:
            try:
                answer = to_pipeline(receive(conn))
            except (EOFError, OSError, ValueError):  # gone, or an answer that does not fit: journal instead
                self._lose("the tracking agent went away")
                return
            if self._take(answer):
                return

    def _take(self, message: ToPipeline) -> bool:
        """Note one answer from the agent; whether it was the last (the report)."""
        with self._cond:
            if isinstance(message, Settled):
                for seq in [s for s in self._outbox if s <= message.seq]:
                    del self._outbox[seq]
            elif isinstance(message, RunAnswer):
                self._run_infos[message.step] = message
            else:
                self._replies[type(message)] = message
            if isinstance(message, RunAnswer) and message.info and message.step is None:
                self._run_id = message.info["run_id"]
            if isinstance(message, (Settled, Report)):
                self._run_id = message.run_id or self._run_id
            self._cond.notify_all()
        if isinstance(message, ExperimentAnswer) and self._header is not None:
            self._say_experiment_once(message)  # else when the run is asked for: a run never asked for is not tracked
        return isinstance(message, Report)

    def _lose(self, why: str) -> None:
        with self._cond:
            if Report in self._replies:
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

    def _say_experiment_once(self, answer: ExperimentAnswer) -> None:
        """Say what the agent found about the experiment once per run, whichever came first: its answer or the run."""
        with self._cond:
            if self._experiment_said or (answer.deleted is None and not answer.restoring):
                return
            self._experiment_said = True
        _say_experiment(answer)


def _say_experiment(answer: ExperimentAnswer) -> None:
    """What the agent found about the run's experiment, in one line: deleted (and what to do), or restored."""
    deleted = answer.deleted
    if deleted is not None:
        logger.warning(
            "MLflow: the experiment %r is deleted, so this run is journaled, not tracked: restore it "
            "(MLFLOW_TRACKING_URI=%s mlflow experiments restore --experiment-id %s, or in the MLflow UI) and run "
            "`kedro azureml sync`, or set tracking.experiment to another name "
            "(tracking.restore_deleted_experiment: true restores it by itself)",
            deleted.name,
            deleted.tracking_uri,
            deleted.experiment_id,
        )
    elif answer.restoring:
        logger.info(
            "MLflow: the experiment %r was deleted; restoring it (tracking.restore_deleted_experiment: true)",
            answer.restoring,
        )
