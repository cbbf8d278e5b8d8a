"""What the pipeline's process hands to its ParallelRunner workers: one typed model in one variable.

Kedro's ParallelRunner forks or spawns its workers after ``before_pipeline_run``; a worker builds its
own hook instances and (under spawn) its datasets from nothing. Everything it needs of its parent
travels as one :class:`WorkerHandoff`, as JSON in ``KEDRO_AZUREML_MLFLOW_WORKER_HANDOFF``: the
tracking session and artifact settings (tracking hooks, at ``before_pipeline_run``) and the
workspace its data lives in (workspace-data hooks, at ``after_catalog_created``). The variable is
written only by :func:`_publish` and read only by :func:`received`, which checks it with pydantic and
refuses what does not fit in one line. No secret is in it: the agent's authkey stays in its 0700
file, credentials are named by type and ids.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict, with_config

from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.io.artifacts.auto import ArtifactRules
from kedro_azureml_mlflow.settings.config import CredentialsConfig
from kedro_azureml_mlflow.tracking.wire.protocol import WorkerShare
from kedro_azureml_mlflow.tracking.wire.records import from_wire, to_wire

HANDOFF_ENV = "KEDRO_AZUREML_MLFLOW_WORKER_HANDOFF"
_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
@dataclass(frozen=True)
class ArtifactShare:
    """Where a worker stages the files it hands over (a folder of its own inside), and what it logs."""

    staging: str
    register_models: bool
    rules: ArtifactRules


@with_config(_STRICT)
@dataclass(frozen=True)
class DataAccessShare:
    """The project's workspace (``None``: none configured) and how its datasets sign in."""

    workspace: WorkspaceRef | None
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)


@with_config(_STRICT)
@dataclass(frozen=True)
class WorkerHandoff:
    """Everything a worker needs of its parent; a part is ``None`` when the parent shared none."""

    session: WorkerShare | None = None  # the tracking agent's session (absent: not tracked, or no socket)
    artifacts: ArtifactShare | None = None
    data_access: DataAccessShare | None = None


def share_tracking(session: WorkerShare | None, artifacts: ArtifactShare) -> None:
    """At ``before_pipeline_run``, before any worker starts: the run's session and artifact settings."""
    _publish({"session": session, "artifacts": artifacts})


def withdraw_tracking() -> None:
    """No run to join (it ended, or is not tracked after all): workers started later by this process
    must not join one, not even one its own parent handed down. Never fails: it runs on the way out."""
    try:
        _publish({"session": None, "artifacts": None})
    except PluginError:  # unreadable, so nothing in it could be joined either
        os.environ.pop(HANDOFF_ENV, None)


def share_data_access(access: DataAccessShare) -> None:
    """Before any dataset is created: the workspace and credentials of the project's workspace data."""
    _publish({"data_access": access})


def received() -> WorkerHandoff:
    """What this process was handed (in the pipeline's own process: what it shares); ``PluginError`` in one
    line naming the field when the variable holds something else."""
    raw = os.environ.get(HANDOFF_ENV)
    return _parse(raw) if raw else WorkerHandoff()


@functools.lru_cache(maxsize=4)  # read at every node and dataset: checked once per value
def _parse(raw: str) -> WorkerHandoff:
    try:
        return from_wire(WorkerHandoff, _json(raw), "a worker hand-off")
    except ValueError as exc:
        raise _malformed(str(exc)) from None


def _publish(parts: dict[str, Any]) -> None:
    """The one writer: ``parts`` (fields of :class:`WorkerHandoff`) replace those shared so far. Merged as
    JSON, not read back through pydantic: the pipeline's process pays no schema building for it."""
    raw = os.environ.get(HANDOFF_ENV)
    shared = _json(raw) if raw else {}
    if not isinstance(shared, dict):
        raise _malformed(f"not a worker hand-off: a JSON {type(shared).__name__}")
    shared.update({name: None if part is None else to_wire(part) for name, part in parts.items()})
    shared = {name: value for name, value in shared.items() if value is not None}
    if shared:
        os.environ[HANDOFF_ENV] = json.dumps(shared)
    else:
        os.environ.pop(HANDOFF_ENV, None)


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # json.JSONDecodeError
        raise _malformed(f"not JSON ({exc})") from None


def _malformed(problem: str) -> PluginError:
    return PluginError(
        f"{HANDOFF_ENV}: {problem}; expected the JSON the plugin's hooks write for ParallelRunner workers "
        "(unset it if it was set by hand)"
    )
