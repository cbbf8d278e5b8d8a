"""What coverage traces in the tests' subprocesses: the code that can be the plugin's, and little else.

Under ``patch = ["subprocess"]`` (pyproject.toml) every Python process started with coverage's
variables in its environment is traced line by line, about a third more CPU on Python 3.11.

- A server that never imports the plugin (an ``mlflow server``, the Azure ML double's control plane)
  would pay that and record nothing: it is started without them (:func:`unmeasured`). Jobs the double
  runs start from a clean environment.
- In the processes that are measured, the C tracer is still called for every line of every frame,
  measured or not: importing Kedro, MLflow and azure-ai-ml took 4.6 CPU-s traced against 3.4 untraced,
  in each of hundreds of ``kedro`` processes. While a library module (stdlib, site-packages) runs its
  top-level code, the thread's tracer rests; a module outside the libraries (the plugin, a project)
  imported meanwhile is traced again (:func:`rest_tracer_in_library_imports`). The plugin's arcs recorded
  for a tracked ``kedro run`` are the same with and without it.

``scripts/test.sh`` puts a ``.pth`` file into the virtual environment that runs this file as a script at
every interpreter's start where coverage measures (``COVERAGE_PROCESS_CONFIG`` is set), after coverage's
own ``.pth`` has started it. So this module imports nothing of the repository, and only the standard
library.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from collections.abc import Callable, Mapping
from importlib import _bootstrap_external  # type: ignore[attr-defined]  # where the source loaders' exec_module is
from types import ModuleType
from typing import Any

COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def unmeasured(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without what would make coverage trace the process started with it."""
    return {key: value for key, value in env.items() if key not in COVERAGE_VARIABLES}


def library_folders() -> tuple[str, ...]:
    """Where the interpreter's own modules and the environment's installed ones live."""
    paths = sysconfig.get_paths()
    return tuple(sorted({paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}))


def rest_tracer_in_library_imports(libraries: tuple[str, ...]) -> Callable[[], None]:
    """Wrap the source loaders' ``exec_module`` so that library modules run untraced; returns the undo."""
    loader = _bootstrap_external._LoaderBasics
    original = loader.exec_module
    resting = threading.local()  # a tracer is a thread's own: each thread resumes only its own

    def exec_module(self: Any, module: ModuleType) -> None:
        library = (getattr(getattr(module, "__spec__", None), "origin", None) or "").startswith(libraries)
        tracer = sys.gettrace()
        stack: list[Any] = resting.__dict__.setdefault("stack", [])
        if library and tracer is not None:
            stack.append(tracer)
            sys.settrace(None)
            try:
                return original(self, module)
            finally:
                stack.pop()
                sys.settrace(tracer)
        if not library and tracer is None and stack:  # imported by a library's body
            sys.settrace(stack[-1])
            try:
                return original(self, module)
            finally:
                sys.settrace(None)
        return original(self, module)

    loader.exec_module = exec_module

    def undo() -> None:
        loader.exec_module = original

    return undo


if __name__ == "__main__":  # run by the .pth, which checked that coverage measures this process
    rest_tracer_in_library_imports(library_folders())
