"""The pipeline's side of artifacts: stage a file, hand its record over, move on.

The hooks install one :class:`Handoff` per tracked run, in the process that owns the run.
Datasets and the automatic artifacts ask :func:`current` for it; when there is none (tracking
off, no run yet, another process) they only save locally. Reading a run's artifacts back needs
no run in progress, only where runs are tracked: :func:`set_target` gives that (lazily, so a
workspace is asked only when something is actually read).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.pipeline_side.node_code import plugins_own_work
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord

if TYPE_CHECKING:
    from kedro_azureml_mlflow.tracking.plan.target import TrackingTarget

logger = logging.getLogger(__name__)

STAGING_DIRNAME = ".kedro_azureml_mlflow/staging"


@dataclass
class Handoff:
    """Where this run's plugin-made files wait, and who takes their records.

    Slow preparations (``mlflow.<flavor>.save_model`` infers pip requirements in a subprocess:
    10 s and more) are :meth:`defer`-red to a background thread, and their record is handed over
    when ready; :meth:`finish` waits for them when the pipeline ends.
    """

    submit: Callable[[ArtifactRecord], None]
    staging: Path
    register_models: bool = True
    pid: int = field(default_factory=os.getpid)
    in_worker: bool = False  # a worker process may end before a background thread would: prepare inline
    _pending: list[Future[None]] = field(default_factory=list)
    _pool: ThreadPoolExecutor | None = None

    def staged_path(self, name: str) -> Path:
        """A fresh path named ``name`` under this run's staging folder."""
        slot = self.staging / uuid.uuid4().hex[:12]
        slot.mkdir(parents=True, exist_ok=True)
        return slot / name

    def defer(self, prepare: Callable[[], ArtifactRecord | None], what: str) -> None:
        """Run ``prepare`` off the pipeline's thread; hand over the record it returns."""
        if self.in_worker:
            self._prepare(prepare, what)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kedro-azureml-mlflow-prepare")
        # With the node's context: the record goes to the child run of the node's step (pipeline_side/steps).
        self._pending.append(self._pool.submit(contextvars.copy_context().run, self._prepare, prepare, what))

    def _prepare(self, prepare: Callable[[], ArtifactRecord | None], what: str) -> None:
        try:
            with plugins_own_work():  # MLflow imported here must not wait for the run (node_code)
                record = prepare()
        except Exception as exc:  # noqa: BLE001 - a file the plugin cannot make never fails the pipeline
            logger.warning("%s could not be prepared for the run (%s); not logged", what, first_line(exc))
            return
        if record is not None:
            self.submit(record)

    def finish(self) -> None:
        """Wait for the deferred preparations (their records are handed over as each ends)."""
        unfinished = sum(not future.done() for future in self._pending)
        if unfinished:
            logger.info("MLflow: saving %d model(s) for the run…", unfinished)
        wait(self._pending)
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown()

    def close(self) -> None:
        """Forget the staging folder (each staged file was uploaded, or moved into the journal)."""
        shutil.rmtree(self.staging, ignore_errors=True)


_handoff: Handoff | None = None
_target: Callable[[], TrackingTarget] | None = None


def install(handoff: Handoff) -> None:
    global _handoff  # noqa: PLW0603 - one run per process: datasets cannot be handed it otherwise
    _handoff = handoff


def finish() -> None:
    """At the end of the run, before the tracking side closes: wait for deferred preparations."""
    handoff = current()
    if handoff is not None:
        handoff.finish()


def uninstall() -> None:
    """After the tracking side closed: forget the run and its staging folder."""
    global _handoff
    handoff, _handoff = _handoff, None
    if handoff is not None and handoff.pid == os.getpid():
        handoff.close()


def current() -> Handoff | None:
    """The run's handoff, only in the process that owns the run (a forked worker has a stale copy)."""
    return _handoff if _handoff is not None and _handoff.pid == os.getpid() else None


def join_from_worker(submit: Callable[[ArtifactRecord], None], parent_staging: Path, register_models: bool) -> None:
    """In a worker process: install a handoff to the parent's session, staging in a folder of its own."""
    install(Handoff(submit, parent_staging / f"worker-{os.getpid()}", register_models, in_worker=True))


def set_target(resolve: Callable[[], TrackingTarget]) -> None:
    """Tell readers how to find the tracking target, resolved on first use."""
    global _target  # noqa: PLW0603 - datasets created by Kedro's catalog have no other way to the run's target
    cache: list[TrackingTarget] = []

    def once() -> TrackingTarget:
        if not cache:
            cache.append(resolve())
        return cache[0]

    _target = once


def target() -> TrackingTarget | None:
    """Where runs are tracked for this project, or ``None`` outside a session."""
    return _target() if _target is not None else None


def hand_over_params(kept: dict[str, str]) -> None:
    """Put the parameter values that are not params (see ``tracking.params``) into ``kedro/params.json``."""
    from kedro_azureml_mlflow.tracking.plan.params import PARAMS_ARTIFACT

    target = current()
    if target is None or not kept:
        return
    folder, name = PARAMS_ARTIFACT.rsplit("/", 1)
    path = target.staged_path(name)
    path.write_text(json.dumps(kept, indent=2, sort_keys=True))
    target.submit(ArtifactRecord(str(path), folder, owned=True, label=PARAMS_ARTIFACT))
