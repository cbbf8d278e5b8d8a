"""What the pipeline process, its workers and the tracking agent say to each other.

Every message is one of the classes below, told apart by its ``op``; :func:`to_agent` and
:func:`to_pipeline` read one off the channel and refuse what does not fit. A session is one ``kedro run``:

- pipeline → agent: ``session`` (where to track, as soon as the context exists), ``run`` (the
  run's name, tags and start, at ``before_pipeline_run``), ``record`` (numbered, any
  :data:`~.records.Record`), ``end`` (status; the agent answers ``report``);
- worker → agent: ``join`` (a session by id), ``record`` (unnumbered), ``ask_run``;
- ``kedro azureml agent`` → agent: ``status``, ``stop`` (the agent answers ``agent``);
- agent → pipeline: ``target`` (where it tracks, or why it cannot), ``experiment`` (whether the
  run can go into its experiment: a deleted one is said at once), ``run`` (the run's info,
  for node code), ``settled`` (every record up to ``seq`` is sent or journaled), ``report``.

A session whose owner's connection closes before ``end`` ended with its process: the agent
sends or journals what it holds and marks the run KILLED.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from kedro_azureml_mlflow.tracking.wire.channel import Endpoint
from kedro_azureml_mlflow.tracking.wire.records import Record, RunHeader, from_wire, new_run_key

KILLED = "KILLED"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class EndBudget:
    """``tracking.max_wait_seconds`` after the run's end, shared out in one place.

    The agent's sender stops sending at 80 % and journals the rest; its watchdog journals what a hung
    request still holds at 90 %; the pipeline stops waiting at 100 %, counted from the moment its
    pipeline ended (``AgentLink.start_end_budget``): the models' wait for the run and the end's wait
    for the report share that one ``max_wait``. The margins are what keeps "the pipeline always gets a
    report in time" true when the agent is slow to answer.
    """

    max_wait: float

    @property
    def sender_seconds(self) -> float:
        return self.max_wait * 0.8

    @property
    def watchdog_seconds(self) -> float:
        return self.max_wait * 0.9

    @property
    def pipeline_seconds(self) -> float:
        return self.max_wait


@dataclass(frozen=True)
class SessionSpec:
    """How the agent should track one ``kedro run`` (everything but the run's header)."""

    session_id: str
    target: dict[str, Any]  # a TargetSpec as data (``to_wire``): the agent realises it
    project_path: str
    journal_dir: str
    flush_interval: float
    max_wait: float
    restore_experiment: bool = False  # tracking.restore_deleted_experiment
    # How long the agent waits idle after this run (tracking.agent.keep_alive_seconds): the latest run's
    # project decides, as a fresh agent would have taken it from the run that started it.
    keep_alive: float | None = None
    child_runs: bool = False  # tracking.child_runs: namespace; records may be for a step's child run

    @property
    def budget(self) -> EndBudget:
        return EndBudget(self.max_wait)


@dataclass(frozen=True)
class RunStart:
    """The run the pipeline asks for: its name, tags (redacted) and start; its key (see ``RunHeader``)."""

    run_name: str | None
    tags: dict[str, str]
    start_time_ms: int
    run_key: str = field(default_factory=new_run_key)


def provisional_header(
    target: dict[str, Any], start: RunStart | None, run_id: str | None, tracking_uri: str | None = None
) -> RunHeader:
    """A journal header from what a session knows before (or without) its run: target and ``run`` message."""
    return RunHeader(
        tracking_uri=tracking_uri or target.get("tracking_uri") or "",
        experiment_name=target.get("experiment_name"),
        run_id=run_id or target.get("resume_run_id"),
        run_name=start.run_name if start else None,
        tags=start.tags if start else {},
        start_time_ms=start.start_time_ms if start else now_ms(),
        run_key=start.run_key if start else new_run_key(),
    )


# --- pipeline (and workers) -> agent ---------------------------------------------------------


@dataclass(frozen=True)
class OpenSession:
    spec: SessionSpec
    op: Literal["session"] = "session"


@dataclass(frozen=True)
class OpenRun:
    start: RunStart
    op: Literal["run"] = "run"


@dataclass(frozen=True)
class HandRecord:
    """A record for the run; ``seq`` numbers the pipeline's own (a worker's are not numbered)."""

    record: Record
    seq: int | None = None
    op: Literal["record"] = "record"


@dataclass(frozen=True)
class EndRun:
    """The run's end (``status`` ``None``: nothing is tracked after all)."""

    status: str | None
    end_time_ms: int
    op: Literal["end"] = "end"


@dataclass(frozen=True)
class Join:
    session: str
    op: Literal["join"] = "join"


@dataclass(frozen=True)
class AskRun:
    """The run's info for node code; with ``step``, its child run's (opened if it is not yet)."""

    step: str | None = None
    op: Literal["ask_run"] = "ask_run"


@dataclass(frozen=True)
class AskStatus:
    """``kedro azureml agent status``: what the agent is and serves (answered with ``AgentStatus``)."""

    op: Literal["status"] = "status"


@dataclass(frozen=True)
class StopAgent:
    """``kedro azureml agent stop``: exit as soon as no run is being served (answered with ``AgentStatus``)."""

    op: Literal["stop"] = "stop"


ToAgent = Annotated[
    Union[OpenSession, OpenRun, HandRecord, EndRun, Join, AskRun, AskStatus, StopAgent],  # noqa: UP007
    Field(discriminator="op"),
]


# --- agent -> pipeline (and workers) ---------------------------------------------------------


@dataclass(frozen=True)
class TargetAnswer:
    """Where the agent tracks, or (``error``) why it cannot."""

    tracking_uri: str | None = None
    description: str = ""
    agent_pid: int | None = None
    error: str | None = None
    warm: bool = False  # the agent had served an earlier run: its experiment answer comes at once
    op: Literal["target"] = "target"


@dataclass(frozen=True)
class DeletedExperiment:
    """The run's experiment is deleted: its name, id and (masked) tracking URI, for the line that says so."""

    name: str
    experiment_id: str
    tracking_uri: str


@dataclass(frozen=True)
class ExperimentAnswer:
    """Whether the run can go into its experiment: ``deleted`` (journaled instead), ``restoring`` (its name)."""

    deleted: DeletedExperiment | None = None
    restoring: str | None = None
    op: Literal["experiment"] = "experiment"


@dataclass(frozen=True)
class RunAnswer:
    """The run's info for node code (``None``: no run to log into); ``step``: its child run's, as asked."""

    info: dict[str, Any] | None
    step: str | None = None
    op: Literal["run"] = "run"


@dataclass(frozen=True)
class Settled:
    """Every record up to ``seq`` is sent or journaled; the run's id, once it has one."""

    seq: int
    run_id: str | None
    op: Literal["settled"] = "settled"


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
    op: Literal["report"] = "report"


@dataclass(frozen=True)
class AgentStatus:
    """What an agent is and serves, for ``kedro azureml agent status|stop``."""

    pid: int
    python: str  # the interpreter (sys.executable): its environment is the agent's
    prefix: str  # sys.prefix: the environment `agent stop` compares with its own
    started_ms: int
    sessions_served: int
    running: int  # runs being served now
    idle_seconds: float
    keep_alive: float
    projects: list[str]  # every project folder served, the most recent first
    memory_mib: float  # resident memory
    stopping: bool = False  # asked to stop: exits once no run is being served
    op: Literal["agent"] = "agent"


ToPipeline = Annotated[
    Union[TargetAnswer, ExperimentAnswer, RunAnswer, Settled, Report, AgentStatus],  # noqa: UP007
    Field(discriminator="op"),
]


def to_agent(data: Any) -> ToAgent:
    """A message for the agent; ``ValueError`` naming what does not fit."""
    return from_wire(ToAgent, data, "a message for the agent", union=True)  # type: ignore[arg-type]  # a union


def to_pipeline(data: Any) -> ToPipeline:
    """A message from the agent; ``ValueError`` naming what does not fit."""
    return from_wire(ToPipeline, data, "a message from the agent", union=True)  # type: ignore[arg-type]  # a union


@dataclass(frozen=True)
class WorkerShare:
    """What a ParallelRunner worker needs to log into its parent's session (no secrets)."""

    endpoint: Endpoint
    session_id: str
    patterns: tuple[str, ...]
    separator: str
    journal_dir: str
    target: dict[str, Any]
    max_wait: float
    # The parent's ``run`` message (name, redacted tags, start, run key): a worker that cannot reach the
    # agent journals under it, so that `sync` finds the parent's run by its key instead of making one.
    run: RunStart | None = None
    # tracking.child_runs: namespace: each step (top-level namespace) and its nodes; empty: no child runs.
    steps: dict[str, list[str]] = field(default_factory=dict)
