"""Node code's own MLflow calls (``mlflow.log_*``, autologging) log into the plugin's run.

While a node runs, the plugin's run is the active MLflow run of the thread running it, in any
runner and any process; it is taken off again when the node ends, so MLflow never ends it
(the plugin's end status wins). The run's id is asked of the agent only when MLflow is imported:
by the time a node starts if the project imported it already, or at the ``import mlflow`` inside
a node (an import hook). A pipeline that never imports MLflow never waits for the run.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from kedro_azureml_mlflow.tracking.target import TargetSpec, use_credential_for_tracking

logger = logging.getLogger(__name__)

AskRun = Callable[[float], "dict[str, Any] | None"]
_thread = threading.local()  # .bridge: the NodeCode of the node this thread runs; .run_id: activated


class NodeCode:
    """One process's bridge between node code and the plugin's run."""

    def __init__(self, ask_run: AskRun, target: TargetSpec, wait_seconds: float) -> None:
        self._ask_run = ask_run
        self._target = target
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._info: dict[str, Any] | None = None
        self._asked = False
        watch_mlflow_import()

    def enter(self) -> None:
        _thread.bridge = self
        if "mlflow" in sys.modules:
            self.activate()

    def leave(self) -> None:
        _thread.bridge = None
        run_id = getattr(_thread, "run_id", None)
        if run_id is not None:
            from kedro_azureml_mlflow.compat import deactivate_run

            deactivate_run(run_id)
            _thread.run_id = None

    def activate(self) -> None:
        if getattr(_thread, "run_id", None) is not None:
            return
        info = self._run_info()
        if info is None:
            return
        from kedro_azureml_mlflow.compat import activate_run

        activate_run(info)
        _thread.run_id = info["run_id"]

    def _run_info(self) -> dict[str, Any] | None:
        with self._lock:
            if not self._asked:
                self._asked = True
                self._info = self._ask_run(self._wait)
                if self._info is None:
                    logger.warning(
                        "MLflow: the run does not exist yet; node code's MLflow calls go to a run of their own"
                    )
                else:
                    self._sign_in(self._info["tracking_uri"])
            return self._info

    def _sign_in(self, tracking_uri: str) -> None:
        """Point this process's MLflow at the run's server, signed in as the plugin is."""
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        use_credential_for_tracking(tracking_uri, self._target.azure_workspace())


def _mlflow_imported() -> None:
    bridge = getattr(_thread, "bridge", None)
    if bridge is not None:
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
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _mlflow_imported()


def watch_mlflow_import() -> None:
    """Install the import hook in this process (once; pointless once MLflow is imported)."""
    if "mlflow" not in sys.modules and not any(isinstance(f, _MlflowImportWatch) for f in sys.meta_path):
        sys.meta_path.insert(0, _MlflowImportWatch())
