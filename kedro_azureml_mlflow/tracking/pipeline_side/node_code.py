"""Node code's own MLflow calls (``mlflow.log_*``, autologging) log into the plugin's run.

Once MLflow is imported in a process that runs nodes, the plugin's run becomes the active
MLflow run of all its threads, in any runner (``compat.activate_run``); it is taken off again
before the process ends, so MLflow never ends it itself and the plugin's end status wins. The
run's id is asked of the agent only then: when the first node starts if the project imported
MLflow already, or at the ``import mlflow`` inside a node (an import hook). A pipeline that never
imports MLflow never waits for the run to exist.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.abc
import logging
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking
from kedro_azureml_mlflow.tracking.pipeline_side.steps import current_step, in_current_step
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.protocol import RunStart, now_ms
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord, ArtifactUpload, Record

if TYPE_CHECKING:
    from kedro_azureml_mlflow.core.compat import ActivatedRun

logger = logging.getLogger(__name__)

AskRun = Callable[[float, "str | None"], "dict[str, Any] | None"]  # (timeout, step) -> the run's info
Hand = Callable[[Record], None]  # hands a record to the plugin's run (the agent's link, or a worker's)
# Node code's MLflow tracks here while the plugin's run cannot be opened (the entry points of journal_store).
JOURNAL_SCHEME = "kedro-azureml-journal"
JOURNAL_URI = f"{JOURNAL_SCHEME}:"
# How long node code waits for the plugin's run. The agent answers as soon as the run is open, or
# when it cannot be (its requests are bounded), so this only bounds an agent that never answers. Not
# ``max_wait_seconds``: a cold agent on a loaded machine (importing MLflow, creating mlflow.db) took
# longer than that, and node code's calls then opened a run of their own beside the plugin's.
RUN_WAIT_SECONDS = 600.0


class NodeCode:
    """One process's bridge between node code and the plugin's run."""

    def __init__(
        self,
        ask_run: AskRun,
        hand: Hand,
        run_start: Callable[[], RunStart | None],
        target: TargetSpec,
        wait_seconds: float,
        armed: bool = False,
    ) -> None:
        """``wait_seconds``: the run's ``max_wait_seconds``; node code waits at least ``RUN_WAIT_SECONDS``.

        ``hand`` and ``run_start`` (the ``run`` message, once sent): for node code's calls journaled into the run.
        """
        self._ask_run = ask_run
        self._hand = hand
        self._run_start = run_start
        self._target = target
        self._wait = max(wait_seconds, RUN_WAIT_SECONDS)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._armed = armed
        self._asked: dict[str | None, dict[str, Any] | None] = {}  # each step's run's info (None: the run's)
        self._active_step: str | None = None
        # Where this process's MLflow tracks now (the run's server, or JOURNAL_URI); None: not pointed anywhere yet.
        self._uri: str | None = None
        self._journal_info: dict[str, Any] | None = None  # the run as node code sees it while it is journaled
        self._activated: ActivatedRun | None = None  # what compat.activate_run put on the threads' stacks
        self._previous_uri: str | None = None  # MLFLOW_TRACKING_URI before _point_at set it
        _current[:] = [self]
        watch_mlflow_import()

    def arm(self) -> None:
        """The run is asked for (``before_pipeline_run``): node code may now log into it."""
        self._armed = True

    def enter(self) -> None:
        """A node starts: if MLflow is imported already, node code needs the run now.

        While another thread is still importing MLflow, the import hook activates the run when
        that import ends (and this thread's ``import mlflow`` waits for it): acting here too
        would deadlock on the import lock.
        """
        module = sys.modules.get("mlflow")
        if module is not None and not getattr(module.__spec__, "_initializing", False):
            self.activate()

    def activate(self) -> None:
        """Make the run of the node now starting (its step's child run, with ``tracking.child_runs``) the active one."""
        with self._lock:
            if not self._armed or os.getpid() != self._pid:
                return
            step = current_step()
            if step in self._asked and self._active_step == step:
                return
            asked_now = step not in self._asked
            if asked_now:
                self._asked[step] = self._ask_run(self._wait, step)
            info = self._asked[step]
            from kedro_azureml_mlflow.core.compat import activate_run, deactivate_run

            if self._activated is not None:  # another step's run: node code of this node must not log there
                deactivate_run(self._activated)
                self._activated = None
            self._active_step = step
            if info is None:
                if asked_now:
                    logger.warning(
                        "MLflow: the plugin's run could not be opened (the tracking server is down or slow); "
                        "node code's own mlflow.* calls in this process are journaled into it: "
                        "`kedro azureml sync` sends them"
                    )
                info = self.journal_run_info()
            first = self._uri is None
            self._point_at(info["tracking_uri"])
            self._activated = activate_run(info)
        if first:
            atexit.register(self.deactivate)  # runs before MLflow's own exit handler, registered earlier

    def deactivate(self) -> None:
        """Before the run ends: MLflow must not end it (FINISHED) at this process's exit.

        MLflow's tracking URI goes back to what it was: a next session in this process (another
        project's, in a notebook) must not track into this run's store.
        """
        with self._lock:
            self._armed = False
            activated, self._activated = self._activated, None
            signed_in, self._uri = self._uri is not None, None
        if not signed_in or os.getpid() != self._pid:
            return
        import mlflow

        from kedro_azureml_mlflow.core.compat import deactivate_run

        if activated is not None:
            deactivate_run(activated)
        mlflow.set_tracking_uri(self._previous_uri)  # type: ignore[arg-type]  # None unsets it, as MLflow does

    def _point_at(self, tracking_uri: str) -> None:
        """Point this process's MLflow at the run's server, signed in as the plugin is (or at the journal)."""
        if tracking_uri == self._uri:
            return
        import mlflow

        if self._uri is None:
            self._previous_uri = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(tracking_uri)
        self._uri = tracking_uri
        if tracking_uri != JOURNAL_URI:
            use_credential_for_tracking(tracking_uri, self._target.azure_workspace())

    # --- node code's calls while the run is journaled (journal_store) ----------------------------

    def journal_run_info(self) -> dict[str, Any]:
        """The run as node code sees it before it exists: its id is the ``kedro.run_key`` tag ``sync`` gives it."""
        if self._journal_info is None:
            self._journal_info = {
                "run_id": start.run_key if (start := self._run_start()) else uuid.uuid4().hex,
                "experiment_id": "",  # not known before the run exists (MLflow refuses None)
                "user_id": "",
                "status": "RUNNING",
                "start_time": now_ms(),
                "end_time": None,
                "lifecycle_stage": "active",
                "artifact_uri": JOURNAL_URI,
                "run_name": None,
                "tracking_uri": JOURNAL_URI,
            }
        return self._journal_info

    def journal(self, record: Record) -> None:
        """Node code's values, for the plugin's run (the node's child run, with ``tracking.child_runs``)."""
        self._hand(in_current_step(record))

    def journal_file(self, path: Path, artifact_path: str | None) -> None:
        """A copy of node code's file or folder (MLflow deletes its temporary ones on return), for the run."""
        copy = Path(tempfile.mkdtemp(prefix="kedro-azureml-mlflow-node-code-")) / path.name
        if path.is_dir():
            shutil.copytree(path, copy)
        else:
            shutil.copy2(path, copy)
        self.journal(ArtifactUpload(ArtifactRecord(str(copy), artifact_path, owned=True, label="node code's file")))


def journaling() -> NodeCode:
    """This process's bridge while node code's calls are journaled; ``RuntimeError`` when they are not."""
    bridge = _current[0] if _current else None
    if bridge is None or bridge._pid != os.getpid() or bridge._uri != JOURNAL_URI:
        raise RuntimeError(
            f"{JOURNAL_URI} is where node code tracks while a kedro run's MLflow run cannot be opened; "
            "there is no such run in this process"
        )
    return bridge


_current: list[NodeCode] = []  # this process's bridge (a forked worker replaces its parent's)
_plugin_work = threading.local()


@contextlib.contextmanager
def plugins_own_work() -> Iterator[None]:
    """The plugin's own thread (a model saved in the background) imports MLflow without asking for the run.

    Only node code needs the run: asking here would make a model's save wait for it, and then the
    end of the run wait again (twice ``max_wait`` against a server that never answers). The next
    node to start activates the run if MLflow was imported here first.
    """
    _plugin_work.active = True
    try:
        yield
    finally:
        _plugin_work.active = False


def _mlflow_imported() -> None:
    if getattr(_plugin_work, "active", False):
        return
    for bridge in _current:
        bridge.activate()


class _MlflowImportWatch(importlib.abc.MetaPathFinder):
    """Finds ``mlflow`` through the other finders and runs a callback once it is imported."""

    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "mlflow":
            return None
        sys.meta_path[:] = [finder for finder in sys.meta_path if finder is not self]
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                spec.loader = _NotifyingLoader(spec.loader)
                return spec
        return None


class _NotifyingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _mlflow_imported()


def watch_mlflow_import() -> None:
    """Install the import hook in this process (once; pointless once MLflow is imported)."""
    if "mlflow" not in sys.modules and not any(isinstance(f, _MlflowImportWatch) for f in sys.meta_path):
        sys.meta_path.insert(0, _MlflowImportWatch())
