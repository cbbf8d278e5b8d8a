"""What the writer could not send, kept on disk so it can be replayed later exactly once.

A journal is a JSON-lines file: a header (where and which run) then one record per unsent
request or run ending. Replay sends records in order and removes each from the file as soon
as the server has taken it, so replaying twice never logs anything twice.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOURNAL_DIRNAME = ".kedro_azureml_mlflow/journal"


@dataclass(frozen=True)
class RunHeader:
    """Which run the records belong to; ``run_id`` is ``None`` if it could not even be created."""

    tracking_uri: str
    experiment_name: str | None
    run_id: str | None
    run_name: str | None
    tags: dict[str, str]
    start_time_ms: int


class Journal:
    """Appends records for one run; the file appears only when there is something to keep."""

    def __init__(self, directory: Path, header: RunHeader) -> None:
        self.directory = directory
        self.header = header
        self.path = directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
        self.records = 0
        self._lock = threading.Lock()

    def open(self) -> Path:
        """Create the file with its header now (so other processes can append to it)."""
        with self._lock:
            self._ensure_header()
        return self.path

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._ensure_header()
            _append(self.path, record)
            self.records += 1

    def _ensure_header(self) -> None:
        if not self.path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            _append(self.path, {"header": self.header.__dict__})


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Add a record to another process's open journal (one short ``write``: appends don't interleave)."""
    _append(path, record)


def pending_journals(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def read_journal(path: Path) -> tuple[RunHeader, list[dict[str, Any]]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return RunHeader(**lines[0]["header"]), lines[1:]


def rewrite_journal(path: Path, header: RunHeader, records: list[dict[str, Any]]) -> None:
    """Atomically replace the journal with what is still unsent (or delete it when nothing is)."""
    if not records:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in [{"header": header.__dict__}, *records]))
    os.replace(tmp, path)


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
