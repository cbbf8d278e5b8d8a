"""What the tracking process could not send, kept on disk so it can be replayed later exactly once.

A journal is a JSON-lines file: a header line (where and which run; ``JournalHead``) then one record per
unsent request or run ending (the format is written down once, in ``tracking/wire/records.py``). A journal is only ever
appended to; ``replay`` notes its progress beside it (``replay_progress``) and deletes both once
everything is delivered. What can never be sent is set aside in ``failed/`` with a reason.

The header never holds the tracking URI's password (``uri_credentials``): replay takes it from
the project's configuration or the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking.journal.kept_files import kept_in_journal
from kedro_azureml_mlflow.tracking.wire.records import (
    ArtifactUpload,
    JournalHead,
    Record,
    RunHeader,
    StepRecord,
    from_wire,
    journaled,
    parse_record,
    to_wire,
)

JOURNAL_DIRNAME = ".kedro_azureml_mlflow/journal"
# Inside an Azure ML job: the job's working directory keeps only ./outputs and ./logs.
JOB_JOURNAL_DIRNAME = "outputs/kedro_azureml_mlflow/journal"
FAILED_DIRNAME = "failed"
LOCK_SUFFIX = ".lock"
PROGRESS_SUFFIX = ".progress"
BEING_WRITTEN = "a running kedro run is still writing it"
ALREADY_SENT = "another sync has sent it already"


def in_azureml_job() -> bool:
    """Running as an Azure ML job: it injected the job's MLflow run and its own ``AZUREML_*`` ids."""
    return bool(os.environ.get("MLFLOW_RUN_ID") and os.environ.get("AZUREML_RUN_ID"))


def journal_directory(project_path: Path) -> Path:
    """Where a run's journal goes: in the project, or in an Azure ML job's ``./outputs``.

    Azure ML uploads a job's ``./outputs`` (relative to the job's working directory) to the
    job's artifacts when it ends and discards the rest, so ``kedro azureml sync --job NAME``
    can fetch the journal from there.
    """
    if in_azureml_job():
        working_dir = os.environ.get("AZUREML_CR_EXECUTION_WORKING_DIR_PATH") or os.getcwd()
        return Path(working_dir) / JOB_JOURNAL_DIRNAME
    return project_path / JOURNAL_DIRNAME


class Journal:
    """Appends records for one run; the file appears only when there is something to keep.

    While a ``Journal`` has its file, it holds an advisory lock beside it (released by ``close``
    or when the process ends, however it ends) so that ``sync`` leaves a journal that a live run
    is still writing alone.
    """

    def __init__(self, directory: Path, header: RunHeader, version: int = 1) -> None:
        """``version``: the format written in its head (``STEP_RECORDS_VERSION`` if it may hold step records)."""
        self.directory = directory
        self.header = header
        self.version = version
        self.path = directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
        self.records = 0
        self._lock = threading.Lock()
        self._writer_lock: Any = None

    def open(self) -> Path:
        """Create the file with its header now (so other processes can append to it)."""
        with self._lock:
            self._ensure_header()
        return self.path

    def write(self, record: Record) -> None:
        """Append ``record``; an artifact record's file is kept beside the journal (see ``kept_files``)."""
        with self._lock:
            inner = record.record if isinstance(record, StepRecord) else record
            if isinstance(inner, ArtifactUpload):
                kept = kept_in_journal(inner, self)
                if kept is None:
                    return
                record = StepRecord(record.step, kept) if isinstance(record, StepRecord) else kept
            self._ensure_header()
            _append(self.path, to_wire(record))
            self.records += 1

    def close(self) -> None:
        """Say the run is done with this journal: ``sync`` may now replay it."""
        with self._lock:
            if self._writer_lock is not None:
                self._writer_lock.release()
                self._writer_lock = None

    def _ensure_header(self) -> None:
        if not self.path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._writer_lock = hold_if_free(self.path)
            _append(self.path, _head(self.header, [], self.version))


def append_record(path: Path, record: Record) -> None:
    """Add a record to another process's open journal (one short ``write``: appends don't interleave)."""
    _append(path, to_wire(record))


def pending_journals(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def failed_directory(journal_dir: Path) -> Path:
    return journal_dir / FAILED_DIRNAME


@dataclass
class JournalContents:
    """A journal as read, line by line: what parsed and what did not (a line cut short by a crash)."""

    header: RunHeader | None
    records: list[tuple[int, Record]]  # (line number, record)
    unreadable: list[tuple[int, str, str]]  # (line number, the raw line, why it is not a record)
    reasons: list[str]  # why records were set aside (journals in failed/)
    version: int = 1  # the format its head says


def load_journal(path: Path) -> JournalContents:
    """Read every line that parses; an empty file gives no header and no records."""
    contents = JournalContents(None, [], [], [])
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            why = f"line {number} is not a whole record (its writer stopped mid-line)"
            contents.unreadable.append((number, line, why))
            continue
        try:
            if number == 1 and isinstance(data, dict) and "header" in data:
                head = from_wire(JournalHead, data)
                contents.header, contents.reasons, contents.version = head.header, head.reasons, head.version
                continue
            contents.records.append((number, parse_record(data)))
        except ValueError as exc:
            contents.unreadable.append((number, line, f"line {number}: {exc}"))
    return contents


def read_journal(path: Path) -> tuple[RunHeader, list[Record]]:
    """The header and the readable records; ``ValueError`` if there is no header."""
    contents = load_journal(path)
    if contents.header is None:
        raise ValueError(f"{path.name} has no journal header")
    return contents.header, [record for _, record in contents.records]


def set_aside(path: Path, header: RunHeader | None, lines: list[str], reasons: list[str], version: int = 1) -> Path:
    """Add journal lines that cannot be sent to ``failed/<name>``, saying why; returns that file.

    The file is a journal itself (its header line also lists the reasons), so ``sync`` can retry
    it once the cause is fixed, or send it elsewhere with ``--to``.
    """
    target = failed_directory(path.parent) / path.name
    kept, known = _failed_lines(target)
    first = _head(header, list(dict.fromkeys([*known, *reasons])), version)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in [json.dumps(first), *kept, *lines]), encoding="utf-8")
    os.replace(tmp, target)
    return target


def requeue(failed: Path) -> Path:
    """Move a journal out of ``failed/`` back among the pending ones (to retry it); its new path.

    Its kept files (figures, models) stayed beside the pending journal it was set aside from, under
    its old name: they move to the new name, where the replay looks for them.
    """
    from kedro_azureml_mlflow.tracking.journal.kept_files import kept_directory

    pending = failed.parent.parent / f"{failed.stem}-retry-{uuid.uuid4().hex[:6]}.jsonl"
    kept = kept_directory(failed.parent.parent / failed.name)
    if kept.is_dir():
        os.replace(kept, kept_directory(pending))
    os.replace(failed, pending)
    return pending


def _failed_lines(path: Path) -> tuple[list[str], list[str]]:
    """The record lines and reasons already set aside in ``path`` (nothing if it does not exist)."""
    if not path.exists():
        return [], []
    first, *rest = path.read_text(encoding="utf-8").splitlines() or [""]
    try:
        reasons = list(json.loads(first).get("reasons", []))
    except (ValueError, AttributeError):
        return [first, *rest], []
    return rest, reasons


def hold_if_free(path: Path) -> Any:
    """Take the advisory lock of journal ``path`` without waiting; ``None`` if a live process has it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path) + LOCK_SUFFIX, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock


@contextlib.contextmanager
def taken(path: Path) -> Iterator[str | None]:
    """Hold journal ``path`` to replay or delete it; yields why not (``None`` when it is ours).

    Its lock file goes once the journal is gone, after the lock is released (a lock file still
    open cannot be deleted on Windows); whoever takes a fresh lock then finds no journal.
    """
    lock = hold_if_free(path)
    if lock is None:
        yield BEING_WRITTEN
        return
    try:
        yield None if path.exists() else ALREADY_SENT
    finally:
        lock.release()
        if not path.exists():
            with contextlib.suppress(OSError):
                Path(str(path) + LOCK_SUFFIX).unlink(missing_ok=True)


def remove_journal(path: Path) -> None:
    """Delete a journal and its replay progress (its lock file goes when the lock is released)."""
    for name in (path.name, path.name + PROGRESS_SUFFIX):
        (path.parent / name).unlink(missing_ok=True)


def _head(header: RunHeader | None, reasons: list[str], version: int = 1) -> dict[str, Any]:
    """A journal's first line (see ``JournalHead``), its header without the tracking URI's credential."""
    return {**to_wire(JournalHead(None, reasons, version)), "header": journaled(header) if header else None}


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
