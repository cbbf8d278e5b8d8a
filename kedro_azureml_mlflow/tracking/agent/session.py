"""One ``kedro run`` inside the tracking agent: where to track, the run, its records, its end.

Three kinds of thread share a session, and every field below ``_cond`` is read and written under it:

- connection threads (one per pipeline or worker connection, in ``server``) only note what arrives:
  ``open_run``, ``add``, ``ask_run``, ``end``, ``owner_gone``; they never send to MLflow;
- the session's own thread (``_work``) realises the target, opens (or resumes) the run, and sends
  what has arrived after ``flush_interval`` seconds (then less and less often), or as soon as a full
  request's worth is waiting; it alone talks to MLflow, through the sender;
- a watchdog timer, started by ``end``, fires ``_abandon`` if the session thread is still stuck in a
  request: it journals what is pending and reports, and the session thread sends nothing more.

How long each may take after the end is ``protocol.EndBudget`` (the sender at 80 % of
``max_wait``, the watchdog at 90 %, the pipeline gives up at 100 %), so the pipeline always gets a
report in time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.agent.run_family import RunFamily
from kedro_azureml_mlflow.tracking.agent.sender import RunSender, merged
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.client.store_lock import sqlite_path
from kedro_azureml_mlflow.tracking.journal.journal import Journal
from kedro_azureml_mlflow.tracking.plan.run_info import source_tags
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec, TrackingTarget
from kedro_azureml_mlflow.tracking.wire.batching import REQUEST_LIMITS, Batch
from kedro_azureml_mlflow.tracking.wire.protocol import (
    KILLED,
    DeletedExperiment,
    ExperimentAnswer,
    Report,
    RunAnswer,
    RunStart,
    SessionSpec,
    Settled,
    TargetAnswer,
    ToPipeline,
    provisional_header,
)
from kedro_azureml_mlflow.tracking.wire.records import (
    STEP_RECORDS_VERSION,
    Record,
    RunEnd,
    RunHeader,
    StepRecord,
    from_wire,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

Reply = Callable[[ToPipeline], None]
Realise = Callable[[TargetSpec], TrackingTarget]
Pending = list[tuple[int | None, Record]]
Opened = Callable[[str], None]


@dataclass(frozen=True)
class ExperimentCheck:
    """What looking the run's experiment up found: the client it used, the lookup, or why it failed."""

    client: MlflowClient | None  # None: the target could not even give a client
    lookup: client_ops.ExperimentLookup | None
    failure: BaseException | None


_LONGEST_INTERVAL = 60.0
# A lookup made when the session started still holds when the run is asked for this soon after (Kedro
# loading the pipelines and the catalog); a session kept open longer before its run looks again.
_LOOKUP_FRESH_SECONDS = 30.0


def _nothing(tracking_uri: str) -> None:
    """The default ``opened``: nothing to note."""


class AgentSession:
    """Owned by one pipeline process (``reply`` reaches it); workers may add records too."""

    def __init__(
        self, spec: SessionSpec, reply: Reply, realise: Realise, warm: bool = False, opened: Opened = _nothing
    ) -> None:
        """``opened``: told the tracking URI once the run is open (the agent notes which store file it holds)."""
        self.spec = spec
        self._opened = opened
        self._warm = warm
        self._reply = reply
        self._realise = realise
        self._cond = threading.Condition()
        self._pending: Pending = []
        self._pending_counts: Counter[str] = Counter()  # metrics, params and tags in _pending
        self._in_flight: Pending = []
        self._header: RunStart | None = None
        self._end: tuple[str | None, int] | None = None
        self._run_askers: list[tuple[Reply, str | None]] = []  # and the step whose run each asks for
        self._run_info: dict[str | None, dict[str, Any] | None] = {}  # by step (None: the run itself)
        self._sender: RunSender | None = None
        self._family: RunFamily | None = None
        self._reported = False
        self._crashed = False  # the session thread failed: nothing more is sent (see _salvage)
        self._watchdog: threading.Timer | None = None  # started by ``end``
        self._interval = spec.flush_interval
        self._flush_at = time.monotonic() + spec.flush_interval
        self.done = threading.Event()  # reported (the pipeline may go); the thread may still be at work
        self._thread = threading.Thread(target=self._work, name=f"session-{spec.session_id[:8]}", daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        """Reported and no longer touching the store: the agent may exit (never mid-migration)."""
        return self.done.is_set() and not self._thread.is_alive()

    # --- called from connection threads -----------------------------------------------------

    def open_run(self, header: RunStart) -> None:
        with self._cond:
            self._header = header
            self._cond.notify_all()

    def add(self, seq: int | None, record: Record) -> None:
        with self._cond:
            self._pending.append((seq, record))
            self._pending_counts.update(_entities(record))
            if self._full():
                self._cond.notify_all()

    def ask_run(self, reply: Reply, step: str | None = None) -> None:
        """Answer with the run's info (its child run's for ``step``) once it exists (node code logs into it),
        or ``None``."""
        with self._cond:
            if self._run_info.get(step) is None and not self.done.is_set() and not self._crashed:
                self._run_askers.append((reply, step))
                self._cond.notify_all()
                return
        reply(RunAnswer(self._run_info.get(step), step))

    def end(self, status: str | None, end_time_ms: int) -> None:
        with self._cond:
            if self._end is not None:
                return
            self._end = (status, end_time_ms)
            self._cond.notify_all()
        self._watchdog = threading.Timer(self.spec.budget.watchdog_seconds, self._abandon)
        self._watchdog.daemon = True
        self._watchdog.start()

    def owner_gone(self) -> None:
        """The pipeline process ended without ``end``: Ctrl-C, SIGTERM, a kill, a crash."""
        self.end(KILLED, int(time.time() * 1000))

    # --- the session's own thread -------------------------------------------------------------

    def _work(self) -> None:
        try:
            target = self._target()
            if target is not None:
                # Both before the run is asked for, while Kedro still loads the pipelines and the catalog:
                # the pipeline then finds the experiment's answer waiting instead of waiting for it.
                experiment = self._look_up_experiment(target)
                looked_up = time.monotonic()
                tags = source_tags(Path(self.spec.project_path))
                header = self._await_header(target, tags)
                if header is not None and time.monotonic() - looked_up > _LOOKUP_FRESH_SECONDS:
                    experiment = self._look_up_experiment(target)  # asked for long after (a notebook): again
                if header is not None:
                    self._track(target, header, experiment)
        except Exception:  # a bug must still end the session: end the run, journal what it held
            logger.exception("Tracking session %s failed", self.spec.session_id)
            self._salvage()
        finally:
            self._answer_run_askers()
            self._send_report()
            if self._watchdog is not None:
                self._watchdog.cancel()  # a warm agent outlives the session: its timer must not fire later
            if self._sender is not None:
                self._sender.journal.close()  # `kedro azureml sync` may replay it now

    def _target(self) -> TrackingTarget | None:
        try:
            # As a fresh agent started in the project's folder would read it (this one serves many projects).
            target = self._realise(from_wire(TargetSpec, self.spec.target).in_project(Path(self.spec.project_path)))
        except Exception as exc:  # noqa: BLE001 - told to the pipeline, which stops with it
            self._reply(TargetAnswer(error=getattr(exc, "message", None) or first_line(exc)))
            return None
        self._reply(TargetAnswer(target.tracking_uri, target.description, os.getpid(), warm=self._warm))
        return target

    def _look_up_experiment(self, target: TrackingTarget) -> ExperimentCheck | None:
        """The run's experiment, looked up as soon as the session starts: a deleted one is said at once.

        The pipeline process (when this agent is warm) waits for this answer before running the
        pipeline, so the one line naming the problem comes first; asked this early, the answer is
        there before the pipeline asks for the run, so that wait costs nothing. Opening the run reuses
        the lookup (one request per run; a session that ends up tracking nothing made it for nothing).
        """
        if target.resume_run_id is not None or target.experiment_name is None or _no_store_yet(target.tracking_uri):
            self._reply(ExperimentAnswer())  # a store not made yet holds no deleted experiment: opening makes it
            return None
        try:
            client = target.client()
            lookup = client_ops.ExperimentLookup(client.get_experiment_by_name(target.experiment_name))
        except Exception as exc:  # noqa: BLE001 - the server in trouble: the run is journaled, as when opening fails
            self._reply(ExperimentAnswer())
            return ExperimentCheck(None, None, exc)
        gone = client_ops.deleted_experiment(lookup)
        if gone is not None and not self.spec.restore_experiment:
            problem = client_ops.ExperimentDeleted(target.experiment_name, str(gone.experiment_id), target.tracking_uri)
            self._reply(ExperimentAnswer(DeletedExperiment(problem.name, problem.experiment_id, problem.tracking_uri)))
            return ExperimentCheck(client, None, problem)
        if gone is not None:
            self._reply(ExperimentAnswer(restoring=target.experiment_name))
        else:
            self._reply(ExperimentAnswer())
        return ExperimentCheck(client, lookup, None)

    def _await_header(self, target: TrackingTarget, source: dict[str, str]) -> RunHeader | None:
        """The run's header once the pipeline asks for the run, with the ``source`` tags added."""
        with self._cond:
            self._cond.wait_for(lambda: self._header is not None or self._end is not None)
            if self._header is None or (self._end is not None and self._end[0] is None):
                return None  # not tracked after all (a disabled pipeline, a failed check)
            header = self._header
        tags = {**header.tags, **source}
        return RunHeader(
            tracking_uri=target.tracking_uri,
            experiment_name=target.experiment_name,
            run_id=target.resume_run_id,
            run_name=header.run_name,
            tags=tags,
            start_time_ms=header.start_time_ms,
            run_key=header.run_key,
        )

    def _track(self, target: TrackingTarget, header: RunHeader, experiment: ExperimentCheck | None) -> None:
        journal = Journal(Path(self.spec.journal_dir), header, _journal_version(self.spec))
        experiment = experiment or ExperimentCheck(None, None, None)
        client = experiment.client
        connect = target.client if client is None else lambda: client
        sender = RunSender(header, journal, connect, resume=target.resume_run_id is not None)
        family = RunFamily(sender, connect)
        with self._cond:
            if self._reported:
                return  # given up before the run was even asked for: the watchdog journaled it all
            self._sender, self._family = sender, family
        sender.open(self.spec.restore_experiment, experiment.lookup, experiment.failure)
        self._opened(target.tracking_uri)
        if self._reported:  # abandoned while opening: the journal holds everything, without this run
            sender.abort()
            return
        self._reply(Settled(0, sender.run_id))  # if this agent dies, the pipeline knows the run
        while True:
            if self._run_askers:
                for step in {step for _, step in list(self._run_askers)}:
                    info = family.run_info(step)
                    self._run_info[step] = {**info, "tracking_uri": target.tracking_uri} if info else None
                self._answer_run_askers()
            batch, end = self._next_batch()
            if batch is None:
                return  # abandoned by the watchdog, which has journaled and reported
            family.send([record for _, record in batch])
            self._settled(batch)
            if end is not None:
                family.finish(end[0] or KILLED, end[1])
                return

    def _next_batch(self) -> tuple[Pending | None, tuple[str | None, int] | None]:
        """Wait for a flush (the end, a full request's worth, or the interval); take what it sends.

        A full request's worth (of metrics, params or tags) is sent as soon as it is pending, and
        only that much: a warm agent sends while the pipeline runs, in full requests, and the end
        waits only for the rest. The interval doubles after each timed flush, up to a minute: a
        long run still shows its metrics as it goes, without a request every few seconds (Azure ML
        throttles).
        """
        with self._cond:
            self._cond.wait_for(
                lambda: self._end is not None or self._full() or bool(self._run_askers),
                timeout=max(0.0, self._flush_at - time.monotonic()),
            )
            if self._reported:
                return None, None
            timed = time.monotonic() >= self._flush_at
            if self._end is None and not self._full() and not timed:
                return [], None  # woken to answer node code's question, not to send
            if timed:
                self._interval = min(2 * self._interval, max(_LONGEST_INTERVAL, self.spec.flush_interval))
                self._flush_at = time.monotonic() + self._interval
            if self._end is not None and self._family is not None and self._family.parent.deadline is None:
                self._family.set_deadline(time.monotonic() + self.spec.budget.sender_seconds)
            everything = self._end is not None or timed
            taken = len(self._pending) if everything else _one_request(self._pending)
            self._in_flight, self._pending = self._pending[:taken], self._pending[taken:]
            self._pending_counts = _counts(self._pending)
            return list(self._in_flight), self._end if everything else None

    def _full(self) -> bool:
        return any(self._pending_counts[kind] >= limit for kind, limit in REQUEST_LIMITS.items())

    def _settled(self, batch: Pending) -> None:
        with self._cond:
            self._in_flight = []
        seqs = [seq for seq, _ in batch if seq is not None]
        if seqs:
            run_id = self._sender.run_id if self._sender else None
            self._reply(Settled(max(seqs), run_id))

    def _abandon(self) -> None:
        """The watchdog: a request still hangs near the end of ``max_wait``; journal the rest now."""
        journal = self._journal_held(end_run=False)
        if journal is not None:  # None: the session had already reported, nothing was left to give up on
            logger.warning("Gave up waiting for the tracking server; the rest is in %s", journal)

    def _salvage(self) -> None:
        """The session thread failed: once the pipeline ends, end the run and journal every record held.

        Node code asking for the run is answered at once (without it); records that still arrive
        wait in memory for the end, as they would for a flush.
        """
        with self._cond:
            self._crashed = True
        self._answer_run_askers()
        with self._cond:
            self._cond.wait_for(lambda: self._end is not None or self._reported)
        journal = self._journal_held(end_run=True)
        if journal is not None:
            logger.warning("The tracking session failed (see above); what it held is in %s", journal)

    def _journal_held(self, end_run: bool) -> Path | None:
        """Journal what is pending or in flight (and the end); with ``end_run``, end an opened run first.

        Reports to the pipeline; returns the journal, if anything went into it.
        """
        with self._cond:
            if self._reported:
                return None
            self._reported = True  # from here on the session thread sends nothing more
            left = [record for _, record in self._in_flight + self._pending]
            self._pending, self._in_flight, self._pending_counts = [], [], Counter()
            sender, family, end, header = self._sender, self._family, self._end, self._header
        if sender is None:  # still starting (importing MLflow, asking the workspace): no run yet
            provisional = provisional_header(self.spec.target, header, None)
            journal = Journal(Path(self.spec.journal_dir), provisional, _journal_version(self.spec))
            sender = RunSender(provisional, journal, _no_client, False)
            self._sender = sender
        for record in merged(left):
            sender.journal.write(record)
        if end is not None and end[0] is not None and family is not None:
            family.journal_ends(end[0], end[1])
        if end is not None and end[0] is not None and sender.ends_run:
            ended = end_run and sender.end_directly(end[0], end[1])
            if not ended:
                sender.journal.write(RunEnd(end[0], end[1]))
        self._reply(self.report())
        self.done.set()
        return sender.journal.path if sender.journal.records else None

    def _answer_run_askers(self) -> None:
        with self._cond:
            askers, self._run_askers = self._run_askers, []
        for reply, step in askers:
            reply(RunAnswer(self._run_info.get(step), step))

    def _send_report(self) -> None:
        with self._cond:
            if self._reported:
                return
            self._reported = True
        self._reply(self.report())
        self.done.set()

    def report(self) -> Report:
        sender = self._sender
        if sender is None:
            return Report(run_id=None, description="", agent_pid=os.getpid(), warm=self._warm)
        journal = sender.journal
        path = str(journal.path) if journal.records else None
        return Report(
            sender.run_id if not sender.aborted else None,
            "",
            self._family.requests if self._family is not None else sender.requests,
            journal.records,
            path,
            self._family.dropped if self._family is not None else list(sender.dropped),
            os.getpid(),
            self._warm,
        )


def _no_store_yet(tracking_uri: str) -> bool:
    """A SQLite store whose file does not exist: looking it up would make it, for a run perhaps never asked for
    (``kedro ipython``, ``kedro catalog list`` start a session too)."""
    database = sqlite_path(tracking_uri)
    return database is not None and not database.exists()


def _journal_version(spec: SessionSpec) -> int:
    """Step records need a journal reader that knows them; without child runs, the format older plugins read."""
    return STEP_RECORDS_VERSION if spec.child_runs else 1


def _no_client() -> MlflowClient:
    raise RuntimeError("a session given up before its run has no client")


def _entities(record: Record) -> Counter[str]:
    if isinstance(record, StepRecord):  # a child run's request counts as much as the run's
        return _entities(record.record)
    if not isinstance(record, Batch):
        return Counter()
    return Counter({"metrics": len(record.metrics), "params": len(record.params), "tags": len(record.tags)})


def _counts(pending: Pending) -> Counter[str]:
    total: Counter[str] = Counter()
    for _, record in pending:
        total.update(_entities(record))
    return total


def _one_request(pending: Pending) -> int:
    """How many of the first records fit one request of each kind (at least one record)."""
    total: Counter[str] = Counter()
    for taken, (_, record) in enumerate(pending):
        total.update(_entities(record))
        if taken and any(total[kind] > limit for kind, limit in REQUEST_LIMITS.items()):
            return taken
    return len(pending)
