"""Send a journal's records to their run, each exactly once; set aside what can never be sent.

Every record is marked in flight before it is sent and done once the server has taken it
(``replay_progress``), so a replay killed at any point resumes without sending anything twice:
only the one record in flight is checked against the run (``idempotency``). Records the server
refuses for good, lines cut short, and journals whose run or tracking URI is gone are moved to
``failed/`` with the reason; the other records are still sent. A server in trouble stops the
replay and leaves the rest for the next ``sync``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.core.redaction import scrub
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.client.idempotency import find_created_run, unsent_part
from kedro_azureml_mlflow.tracking.journal.journal import JournalContents, load_journal, remove_journal, set_aside
from kedro_azureml_mlflow.tracking.journal.kept_files import with_kept_file
from kedro_azureml_mlflow.tracking.journal.replay_progress import ReplayProgress
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import (
    Record,
    RunEnd,
    RunHeader,
    StepRecord,
    child_header,
    child_run_key,
    for_step,
    new_run_key,
    to_wire,
)
from kedro_azureml_mlflow.tracking.wire.uri_credentials import without_credentials

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

Connect = Callable[[str], "MlflowClient"]
_HEADER_LINE = 1


@dataclass
class ReplayOutcome:
    """What one replay did with one journal."""

    journal: Path
    target: str  # the tracking URI the records went to, without its credential
    run_id: str | None = None
    sent: int = 0  # records delivered by this replay
    set_aside: list[str] = field(default_factory=list)  # why records were moved to failed/
    failed_path: Path | None = None
    stopped: str | None = None  # the server trouble that stopped it; the rest stays pending
    empty: bool = False


class _RunGone(Exception):
    """The run the journal belongs to was deleted: none of its records can be sent there."""


def replay_journal(path: Path, connect: Connect, to_uri: str | None = None) -> ReplayOutcome:
    """Replay ``path`` into its run (or, with ``to_uri``, into a new run in another store)."""
    contents = load_journal(path)
    if contents.header is None:
        return _without_header(path, contents)
    replay = _Replay(path, contents.header, ReplayProgress.load(path), to_uri)
    replay.run(connect, contents)
    return replay.outcome


class _Replay:
    def __init__(self, path: Path, header: RunHeader, progress: ReplayProgress, to_uri: str | None) -> None:
        self.path, self.header, self.progress, self.to_uri = path, header, progress, to_uri
        self.uri = to_uri or header.tracking_uri
        self.target = without_credentials(self.uri)
        self.opens_run = to_uri is not None or header.run_id is None
        run_id = progress.runs.get(self.target) or (None if self.opens_run else header.run_id)
        self.outcome = ReplayOutcome(path, self.target, run_id)
        self.refused: list[tuple[int, str, str]] = []  # (line number, line, reason)
        self.children: dict[str, str] = {}  # step -> its child run's id (tracking.child_runs)
        self.version = 1

    @property
    def run_id(self) -> str | None:
        return self.outcome.run_id

    def run(self, connect: Connect, contents: JournalContents) -> None:
        self.version = contents.version
        for number, line, why in contents.unreadable:
            if number not in self.progress.done:
                self.refused.append((number, line, why))
        records = [*self._run_tags(), *contents.records]
        pending = [(number, record) for number, record in records if number not in self.progress.done]
        try:
            client = connect(self.uri)
            for number, record in pending:
                self._deliver(client, number, record)
            self._end_children_left_running(client, contents)
            self._end_if_left_running(client, contents)
        except _RunGone as gone:
            self._refuse_rest(pending, str(gone))
        except Exception as exc:  # noqa: BLE001 - sorted into "for good" and "for now" below
            if not client_ops.is_permanent(exc):
                self.outcome.stopped = scrub(first_line(exc))
            else:
                self._refuse_rest(pending, f"{self.target}: {scrub(first_line(exc))}")
        self._set_aside()
        if self.outcome.stopped is None:
            remove_journal(self.path)

    def _run_tags(self) -> list[tuple[int, Record]]:
        """The header's tags, as a record of their own (line 1, the header's) for a run replay did not open.

        A run replay opens gets them when it is created; a run resumed from a job or ``mlflow run``
        gets them here, its owner's ``mlflow.*`` tags left as they are, whether or not the writer
        also journaled them (sending a tag again changes nothing).
        """
        tags = [(key, value) for key, value in self.header.tags.items() if not key.startswith("mlflow.")]
        return [] if self.opens_run or not tags else [(_HEADER_LINE, Batch(tags=tags))]

    def _deliver(self, client: MlflowClient, number: int, record: Record) -> None:
        run_id = self.run_id or self._open_run(client)
        step = record.step if isinstance(record, StepRecord) else None
        if isinstance(record, StepRecord):
            run_id, record = self._child_run(client, record.step), record.record
        record = with_kept_file(record, self.path)
        if self.progress.in_flight(number):
            unsent = unsent_part(client, run_id, record)
            if unsent is None:
                self._delivered(number)
                return
            record = unsent
        self.progress.sending(number)
        try:
            client_ops.send_record(client, run_id, record)
        except Exception as exc:
            if not client_ops.is_permanent(exc):
                raise
            self._raise_if_run_gone(client, run_id, exc)
            refused = client_ops.refused_parts(client, run_id, record, exc)
            self.refused.extend(
                (number, json.dumps(to_wire(for_step(step, part))), scrub(reason)) for part, reason in refused
            )
            if refused:
                return  # marked done once it is written to failed/
        self._delivered(number)

    def _delivered(self, number: int) -> None:
        self.progress.finished(number)
        if number != _HEADER_LINE:  # count the journal's records, not its header's tags
            self.outcome.sent += 1

    def _open_run(self, client: MlflowClient) -> str:
        """Create the run, unless an earlier attempt did and never heard back (found by its key)."""
        key = self.progress.creating.get(self.target) or (new_run_key() if self.to_uri else self.header.run_key)
        header = replace(self.header, run_key=key)
        run_id = find_created_run(client, header)
        if run_id is None:
            self.progress.creating_run(self.target, key)
            run_id = client_ops.create_run(client, header)
        self.progress.run_created(self.target, run_id)
        self.outcome.run_id = run_id
        return run_id

    def _child_run(self, client: MlflowClient, step: str) -> str:
        """The run's child run for ``step``: the one the agent (or an earlier replay) created, found by its key,
        or a new one, in the run's experiment."""
        known = self.children.get(step) or self.progress.runs.get(f"{self.target}#{step}")
        if known is not None:
            self.children[step] = known
            return known
        parent = str(self.run_id)
        key = child_run_key(parent if self.to_uri else self.header.run_key, step)
        header = replace(child_header(self.header, parent, step, self.header.start_time_ms), run_key=key)
        experiment_id = str(client.get_run(parent).info.experiment_id)
        run_id = find_created_run(client, header, experiment_id)
        if run_id is None:
            self.progress.creating_run(f"{self.target}#{step}", key)
            run_id = client_ops.create_run(client, header, experiment_id)
        self.progress.run_created(f"{self.target}#{step}", run_id)
        self.children[step] = run_id
        return run_id

    def _end_children_left_running(self, client: MlflowClient, contents: JournalContents) -> None:
        """A child run this journal held records for ends with the run: the run's end in the journal, or FAILED.

        Only a child still RUNNING (the agent ends its children when it can; a journal holds the ends it could
        not send) and only from a journal that ends its run (a ParallelRunner worker's does not).
        """
        if not self.header.ends_run:
            return
        ended = {r.step for _, r in contents.records if isinstance(r, StepRecord) and isinstance(r.record, RunEnd)}
        run_end = next((r for _, r in reversed(contents.records) if isinstance(r, RunEnd)), None)
        for step, run_id in self.children.items():
            if step in ended or client.get_run(run_id).info.status != "RUNNING":
                continue
            if run_end is None:
                reason = "it holds no end of the run (its kedro run stopped early)"
                error = Batch(tags=[("kedro.error", f"Tracking journal {self.path.name}: {reason}")])
                client_ops.send_record(client, run_id, error)
            status = run_end.end if run_end is not None else "FAILED"
            client_ops.end_run(client, run_id, status, _last_time(self.header, contents))

    def _raise_if_run_gone(self, client: MlflowClient, run_id: str, refusal: BaseException) -> None:
        try:
            deleted = client.get_run(run_id).info.lifecycle_stage == "deleted"
        except Exception as exc:
            if not client_ops.is_permanent(exc):
                raise
            deleted = True
        if deleted:
            raise _RunGone(f"run {run_id} is gone from {self.target} ({first_line(refusal)})")

    def _end_if_left_running(self, client: MlflowClient, contents: JournalContents) -> None:
        """A run this replay opened must not stay RUNNING when its journal holds no (readable) end."""
        ends = [number for number, record in contents.records if isinstance(record, RunEnd)]
        refused_end = any(number in ends for number, _, _ in self.refused)
        if not self.opens_run or not self.header.ends_run or self.run_id is None or (ends and not refused_end):
            return
        reason = "its end was refused" if refused_end else "it holds no end of the run (its kedro run stopped early)"
        error = Batch(tags=[("kedro.error", f"Tracking journal {self.path.name}: {reason}")])
        client_ops.send_record(client, self.run_id, error)
        client_ops.end_run(client, self.run_id, "FAILED", _last_time(self.header, contents))

    def _refuse_rest(self, pending: list[tuple[int, Record]], reason: str) -> None:
        already = {number for number, _, _ in self.refused}
        for number, record in pending:
            if number not in self.progress.done and number not in already:
                self.refused.append((number, json.dumps(to_wire(record)), reason))

    def _set_aside(self) -> None:
        if not self.refused:
            return
        header = self.header if self.to_uri else replace(self.header, run_id=self.run_id)
        reasons = list(dict.fromkeys(reason for _, _, reason in self.refused))
        lines = [line for number, line, _ in self.refused if number != _HEADER_LINE]  # the header keeps those
        self.outcome.failed_path = set_aside(self.path, header, lines, reasons, self.version)
        self.outcome.set_aside = reasons
        for number in dict.fromkeys(number for number, _, _ in self.refused):
            self.progress.finished(number)


def _last_time(header: RunHeader, contents: JournalContents) -> int:
    """The latest time the journal knows of (its last metric or end), for a run ended on its behalf."""
    times = [header.start_time_ms]
    for _, record in contents.records:
        if isinstance(record, Batch):
            times.extend(metric[2] for metric in record.metrics)
        elif isinstance(record, RunEnd):
            times.append(record.end_time_ms)
    return max(times)


def _without_header(path: Path, contents: JournalContents) -> ReplayOutcome:
    """An empty file is removed; records without a header (whose run is unknown) are set aside."""
    outcome = ReplayOutcome(path, target="", empty=not (contents.records or contents.unreadable))
    if not outcome.empty:
        lines = [json.dumps(to_wire(record)) for _, record in contents.records]
        lines += [line for _, line, _ in contents.unreadable]  # kept whole, a header line of a newer format too
        unreadable_header = [why for number, _, why in contents.unreadable if number == _HEADER_LINE]
        reasons = ["no header line: which run these records belong to is unknown", *unreadable_header]
        outcome.failed_path = set_aside(path, None, lines, reasons)
        outcome.set_aside = reasons
    remove_journal(path)
    return outcome
