"""What the pipeline process, its workers and the tracking agent say to each other.

Every message is a JSON object with an ``op``. A session is one ``kedro run``:

- pipeline → agent: ``session`` (where to track, as soon as the context exists), ``run`` (the
  run's header, at ``before_pipeline_run``), ``record`` (numbered, any record kind of the
  journal's format), ``end`` (status; the agent answers ``report``);
- worker → agent: ``join`` (a session by id), ``record`` (unnumbered), ``ask_run``;
- agent → pipeline: ``target`` (where it tracks, or why it cannot), ``experiment`` (whether the
  run can go into its experiment: a deleted one is said at once), ``run`` (the run's info,
  for node code), ``settled`` (every record up to ``seq`` is sent or journaled), ``report``.

A session whose owner's connection closes before ``end`` ended with its process: the agent
sends or journals what it holds and marks the run KILLED.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from kedro_azureml_mlflow.tracking.wire.records import RunHeader, new_run_key

SESSION, RUN, RECORD, END, JOIN, ASK_RUN = "session", "run", "record", "end", "join", "ask_run"
TARGET, SETTLED, REPORT = "target", "settled", "report"
EXPERIMENT = "experiment"

KILLED = "KILLED"
SESSION_ENV = "KEDRO_AZUREML_MLFLOW_SESSION"  # how ParallelRunner workers find their session


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SessionSpec:
    """How the agent should track one ``kedro run`` (everything but the run's header)."""

    session_id: str
    target: dict[str, Any]  # a TargetSpec as JSON
    project_path: str
    journal_dir: str
    flush_interval: float
    max_wait: float
    restore_experiment: bool = False  # tracking.restore_deleted_experiment

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def provisional_header(
    target: dict[str, Any], header: dict[str, Any] | None, run_id: str | None, tracking_uri: str | None = None
) -> RunHeader:
    """A journal header from what a session knows before (or without) its run: target and ``run`` message."""
    header = header or {}
    return RunHeader(
        tracking_uri=tracking_uri or target.get("tracking_uri") or "",
        experiment_name=target.get("experiment_name"),
        run_id=run_id or target.get("resume_run_id"),
        run_name=header.get("run_name"),
        tags=header.get("tags", {}),
        start_time_ms=header.get("start_time_ms", now_ms()),
        run_key=header.get("run_key") or new_run_key(),
    )


@dataclass
class Report:
    """What became of everything a session handed over, for the closing message."""

    run_id: str | None
    description: str
    requests: int = 0
    journaled: int = 0
    journal_path: str | None = None
    dropped: list[str] = field(default_factory=list)
    agent_pid: int | None = None
    warm: bool = False  # the agent had served an earlier run
    waited_seconds: float = 0.0  # how long the pipeline's process waited for tracking after the pipeline

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True)
class WorkerShare:
    """What a ParallelRunner worker needs to log into its parent's session (no secrets)."""

    endpoint: dict[str, str]
    session_id: str
    patterns: tuple[str, ...]
    separator: str
    journal_dir: str
    target: dict[str, Any]
    max_wait: float
    # The parent's ``run`` message (name, redacted tags, start, run key): a worker that cannot reach the
    # agent journals under it, so that `sync` finds the parent's run by its key instead of making one.
    run: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerShare:
        return cls(**{**data, "patterns": tuple(data["patterns"])})
