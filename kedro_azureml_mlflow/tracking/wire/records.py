"""The wire format: every record, header and message that crosses between processes, as dataclasses.

One record kind per class, told apart by the key each has always carried on disk (so journals written
before these classes existed read the same): a :class:`~.batching.Batch` (``metrics``, ``params``,
``tags``), an :class:`ArtifactUpload` (``artifact``) or a :class:`RunEnd` (``end``). :data:`Record` is
their tagged union; :func:`parse_record` is the one way in, and refuses what does not fit with one line
saying why. :func:`to_wire` / :func:`from_wire` turn any of these classes into JSON-able data and back.
They are plain dataclasses that pydantic checks where data comes in (``TypeAdapter``, built on first
use): defining pydantic classes would cost every ``kedro run`` its schema building at import, and the
pipeline's process only writes these, the agent and ``sync`` read them.

A journal file (JSON lines) is a :class:`JournalHead` line, then one :data:`Record` per line.

With ``tracking.child_runs``, a record for one of the run's child runs is a :class:`StepRecord`
(``{"step": …, "record": …}``): the child run it goes to is known by the step's name alone (its key is
the run's key and the step, :func:`child_run_key`), so any journal (the agent's, the pipeline's, a
worker's) can hold it and ``sync`` puts it into the right child run.

An artifact record names a local file or folder and the run folder it goes into (``artifact_path``;
``None`` is the run's root). ``owned`` records point at a copy the plugin made (a staged figure,
a saved model, a journal's kept copy): it is the plugin's to move or delete. Others point at the
user's own files (a catalog dataset's), which are never moved or deleted.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter, ValidationError, with_config

from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.uri_credentials import without_credentials

# Journals without a version are version 1. Version 2 may hold step records (``StepRecord``: a child run's,
# with ``tracking.child_runs``); a journal without any is still written as version 1, so an older plugin replays it.
JOURNAL_VERSION = 2
STEP_RECORDS_VERSION = 2
_T = TypeVar("_T")
_STRICT = ConfigDict(extra="forbid")


def new_run_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)  # unknown fields are ignored: a later version may add some
class RunHeader:
    """Which run the records belong to; ``run_id`` is ``None`` if it could not even be created.

    ``run_key`` is tagged on the run when it is created (``kedro.run_key``), so that a replay
    that lost the answer to its "create run" can find the run instead of making a second one.
    ``ends_run`` is false for a ParallelRunner worker's journal: it adds to its parent's run, whose
    own journal (or agent) ends it, so its replay must not end the run for want of an end record.
    """

    tracking_uri: str
    experiment_name: str | None
    run_id: str | None
    run_name: str | None
    tags: dict[str, str]
    start_time_ms: int
    run_key: str = field(default_factory=new_run_key)
    ends_run: bool = True


@with_config(_STRICT)
@dataclass(frozen=True)
class ArtifactRecord:
    """One upload (and, for a model folder, an optional registration) into the run."""

    local_path: str
    artifact_path: str | None = None
    owned: bool = False
    register_as: str | None = None
    label: str = ""

    @property
    def destination(self) -> str:
        """Where it lands in the run, for messages."""
        name = Path(self.local_path).name
        if Path(self.local_path).is_dir():
            return self.artifact_path or "."
        return f"{self.artifact_path}/{name}" if self.artifact_path else name


@with_config(_STRICT)
@dataclass(frozen=True)
class ArtifactUpload:
    """The record that puts an :class:`ArtifactRecord` into the run (``{"artifact": {…}}``)."""

    artifact: ArtifactRecord


@with_config(_STRICT)
@dataclass(frozen=True)
class RunEnd:
    """The run's end: its status and time (``{"end": "FINISHED", "end_time_ms": …}``)."""

    end: str
    end_time_ms: int


@dataclass(frozen=True)
class JournalHead:
    """A journal's first line: its run (``None`` when unknown), why it was set aside, and its format version."""

    header: RunHeader | None
    reasons: list[str] = field(default_factory=list)
    version: int = 1

    def __post_init__(self) -> None:
        if self.version > JOURNAL_VERSION:
            raise ValueError(f"journal format version {self.version}: this plugin reads up to {JOURNAL_VERSION}")


def record_kind(value: Any) -> str | None:
    """``batch``, ``artifact``, ``end`` or ``step``: the key a line carries, or the class of a record; ``None`` if
    none."""
    if isinstance(value, dict):
        if "step" in value:
            return "step"
        if "end" in value:
            return "end"
        if "artifact" in value:
            return "artifact"
        return "batch" if value.keys() & {"metrics", "params", "tags"} else None
    return _KIND_OF.get(type(value))


_KIND_OF: dict[type, str] = {Batch: "batch", ArtifactUpload: "artifact", RunEnd: "end"}
RunRecord = Annotated[
    Union[Annotated[Batch, Tag("batch")], Annotated[ArtifactUpload, Tag("artifact")], Annotated[RunEnd, Tag("end")]],  # noqa: UP007 - a tagged union needs Union[...] here
    Discriminator(
        record_kind,
        custom_error_type="record_kind",
        custom_error_message="a record has metrics/params/tags, an artifact, or an end",
    ),
]


@with_config(_STRICT)
@dataclass(frozen=True)
class StepRecord:
    """A record for the child run of ``step`` (a top-level namespace), not for the run itself."""

    step: str
    record: RunRecord


_KIND_OF[StepRecord] = "step"
Record = Annotated[
    Union[  # noqa: UP007 - a tagged union needs Union[...] here
        Annotated[Batch, Tag("batch")],
        Annotated[ArtifactUpload, Tag("artifact")],
        Annotated[RunEnd, Tag("end")],
        Annotated[StepRecord, Tag("step")],
    ],
    Discriminator(
        record_kind,
        custom_error_type="record_kind",
        custom_error_message="a record has metrics/params/tags, an artifact, an end, or a step",
    ),
]


def child_run_key(run_key: str, step: str) -> str:
    """The key of the run's child run for ``step``: whoever creates it (the agent, ``sync``) finds it by this."""
    return f"{run_key}.{step}"


CHILD_TAGS = ("mlflow.parentRunId", "kedro.step")


def child_header(parent: RunHeader, parent_run_id: str, step: str, start_time_ms: int) -> RunHeader:
    """The header of the run's child run for ``step``: the run's experiment and tags, its parent, the step."""
    parent_tag, step_tag = CHILD_TAGS
    return RunHeader(
        tracking_uri=parent.tracking_uri,
        experiment_name=parent.experiment_name,
        run_id=None,
        run_name=step,
        tags={**parent.tags, parent_tag: parent_run_id, step_tag: step},
        start_time_ms=start_time_ms,
        run_key=child_run_key(parent.run_key, step),
    )


def for_step(step: str | None, record: Record) -> Record:
    """``record`` for the child run of ``step``; ``None``: for the run itself."""
    if step is None or isinstance(record, StepRecord):
        return record
    return StepRecord(step, record)


class InvalidRecord(ValueError):
    """A record that does not fit the wire format (a damaged journal, or one from a newer plugin): never sendable."""

    error_code = "INVALID_PARAMETER_VALUE"  # a refusal, not an outage (see client_ops.is_permanent)


def parse_record(data: Any) -> Record:
    """The record ``data`` holds; :class:`InvalidRecord` naming the first thing that does not fit."""
    try:
        return _adapter(Record).validate_python(data)  # type: ignore[no-any-return]  # pydantic returns Any
    except ValidationError as exc:
        raise InvalidRecord(f"not a record: {describe(exc, union=True)}") from None


def to_wire(value: Any) -> dict[str, Any]:
    """A record, header or message as JSON-able data (NaN and infinity stay floats: ``json`` writes them).

    Lists and dicts are shared, not copied (the caller writes them out at once): a node's metrics cost
    no copy on the pipeline's thread.
    """
    return {field.name: _wire_value(getattr(value, field.name)) for field in dataclasses.fields(value)}


def _wire_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_wire(value)
    if isinstance(value, BaseModel):  # a part of azureml.yml a worker is handed (its credentials: section)
        return value.model_dump(mode="json")
    return str(value) if isinstance(value, Path) else value


def from_wire(cls: type[_T], data: Any, what: str = "", union: bool = False) -> _T:
    """``data`` read back as ``cls`` (``union``: a tagged union, ``what`` it is); ``ValueError`` naming the first
    field that does not fit."""
    try:
        return _adapter(cls).validate_python(data)  # type: ignore[no-any-return]  # pydantic returns Any
    except ValidationError as exc:
        raise ValueError(f"not {what or 'a ' + cls.__name__}: {describe(exc, union)}") from None


def journaled(header: RunHeader) -> dict[str, Any]:
    """The header as a journal keeps it: the tracking URI without its credential."""
    return to_wire(dataclasses.replace(header, tracking_uri=without_credentials(header.tracking_uri)))


def describe(exc: ValidationError, union: bool = False) -> str:
    """The first problem pydantic found, as one line: where (in the data's own keys), and what was expected."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    if union and loc:
        loc = loc[1:]  # the union's tag (a message's op, a record's kind) is not a key of the data
    where = [part for i, part in enumerate(loc) if not (i and loc[i - 1] == "record" and part in _KIND_OF.values())]
    path = ".".join(str(part) for part in where)
    return f"{path}: {error['msg']}" if path else str(error["msg"])


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(cls: object) -> TypeAdapter[Any]:
    """One adapter per class (building one costs far more than using it)."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)  # type: ignore[arg-type]  # a class or an annotated union
    return adapter
