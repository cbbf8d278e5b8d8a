"""The records that cross between processes: a run's header and the ``{"artifact": …}`` record.

An artifact record names a local file or folder and the run folder it goes into (``artifact_path``;
``None`` is the run's root). ``owned`` records point at a copy the plugin made (a staged figure,
a saved model, a journal's kept copy): it is the plugin's to move or delete. Others point at the
user's own files (a catalog dataset's), which are never moved or deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking.wire.uri_credentials import without_credentials


def new_run_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
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

    def to_json(self) -> dict[str, Any]:
        """The header as journaled: the tracking URI without its credential."""
        return asdict(replace(self, tracking_uri=without_credentials(self.tracking_uri)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunHeader:
        """Read a journaled header, ignoring fields a later version may add."""
        known = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


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

    def to_json(self) -> dict[str, Any]:
        return {"artifact": asdict(self)}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ArtifactRecord:
        return cls(**record["artifact"])
