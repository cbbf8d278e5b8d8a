"""A saved model's pip requirements, inferred by MLflow once per make-up of the model and environment.

``mlflow.<flavor>.save_model`` infers them by loading the model in a fresh interpreter and noting
what it imports: about 5 s and 4.5 CPU-seconds at the end of every run that saves a model. What it
finds follows from three things: the modules the model's pickle refers to, the code of those that
are not installed packages (the project's own), and what the environment has installed. The
answer is kept under a hash of the three and given back as ``pip_requirements`` while none changes.

It is not used when the user chose the requirements (``pip_requirements``, ``extra_pip_requirements``,
``conda_env``), when MLflow takes them elsewhere (a uv project, locked dependencies), for a model
that refers to ``__main__`` or that plain pickle cannot walk, or when MLflow's inference failed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import pickle
import site
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.core.user_cache import cache_root

logger = logging.getLogger(__name__)

_FORMAT = 1
_CHOSEN_BY_USER = ("pip_requirements", "extra_pip_requirements", "conda_env")
_NOT_ABOUT_REQUIREMENTS = ("input_example", "signature", "metadata")
# MLflow logs its inference's failure here, then falls back to its default requirements.
_INFERENCE_LOGGER = "mlflow.utils.environment"

SaveModel = Callable[[dict[str, Any]], None]


def save(flavor: str, model: Any, folder: Path, save_args: dict[str, Any], save_model: SaveModel) -> None:
    """Call ``save_model(save_args)`` into ``folder`` with the requirements known for this model, else learn them."""
    key = _key(flavor, model, save_args)
    known = _lookup(key) if key else None
    if known is not None:
        save_model({**save_args, "pip_requirements": known})
        return
    watcher = _FailureWatcher()
    inference = logging.getLogger(_INFERENCE_LOGGER)
    inference.addHandler(watcher)
    try:
        save_model(save_args)
    finally:
        inference.removeHandler(watcher)
    if key and not watcher.failed:
        _learn(key, folder)


def _learn(key: str, folder: Path) -> None:
    try:
        lines = [line.strip() for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    except OSError:
        return
    requirements = [line for line in lines if line]
    if requirements and not any(line.startswith("-") for line in requirements):  # no constraints, no options
        _store(key, requirements)


class _FailureWatcher(logging.Handler):
    """Notes a warning from MLflow's inference: its fallback requirements are not worth keeping."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self.failed = True


def _key(flavor: str, model: Any, save_args: dict[str, Any]) -> str | None:
    """The hash the inferred requirements are kept under, or None where they must be inferred afresh."""
    if any(name in save_args for name in _CHOSEN_BY_USER) or _mlflow_takes_them_elsewhere():
        return None
    packages = _referenced_packages(model)
    if packages is None or "__main__" in packages:
        return None
    import mlflow

    installed = _installed_dirs()
    digest = hashlib.sha256()
    for part in (str(_FORMAT), flavor, mlflow.__version__, sys.version, sys.executable):
        digest.update(f"{part}\0".encode())
    for name, value in sorted(save_args.items()):  # e.g. serialization_format: skops or cloudpickle
        if name not in _NOT_ABOUT_REQUIREMENTS:
            digest.update(f"{name}\0{value!r}\0".encode())
    for folder in sorted(installed):  # an install, upgrade or removal changes its folder's entries
        digest.update(f"{folder}\0{_mtime_ns(folder)}\0".encode())
    for package in sorted(packages):
        digest.update(f"{package}\0".encode())
        for file, stat in _own_code(package, installed):
            digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _mlflow_takes_them_elsewhere() -> bool:
    """A uv project (MLflow exports uv's lock) or ``MLFLOW_LOCK_MODEL_DEPENDENCIES`` (MLflow locks them)."""
    from mlflow.environment_variables import MLFLOW_LOCK_MODEL_DEPENDENCIES

    return Path("uv.lock").exists() or bool(MLFLOW_LOCK_MODEL_DEPENDENCIES.get())


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _ModuleRecorder(pickle.Pickler):
    """Walks what pickle would write, noting the top-level package of every class and function met."""

    def __init__(self) -> None:
        # Protocol 5 hands large buffers (array data) to the callback instead of copying them.
        super().__init__(_Discard(), protocol=5, buffer_callback=lambda _buffer: None)
        self.packages: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        named = [type(obj), obj] if isinstance(obj, type) or hasattr(obj, "__qualname__") else [type(obj)]
        for each in named:  # an instance's class; a class or function itself
            module = getattr(each, "__module__", None)
            if isinstance(module, str):
                self.packages.add(module.partition(".")[0])
        return NotImplemented


def _referenced_packages(model: Any) -> set[str] | None:
    recorder = _ModuleRecorder()
    try:
        recorder.dump(model)
    except Exception:  # noqa: BLE001 - what plain pickle cannot walk is inferred by MLflow as before
        return None
    return recorder.packages


def _installed_dirs() -> set[str]:
    """The folders installed packages (and the standard library) live in."""
    paths = sysconfig.get_paths()
    found = {paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths}
    found.update(site.getsitepackages())
    found.add(site.getusersitepackages())
    found.update(entry for entry in sys.path if entry.rstrip("/").endswith(("site-packages", "dist-packages")))
    return {os.path.realpath(folder) for folder in found if os.path.isdir(folder)}


def _own_code(package: str, installed: set[str]) -> Iterable[tuple[str, os.stat_result]]:
    """The source files of ``package`` when it is not installed (the project's code), for its fingerprint."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    roots = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.has_location and spec.origin else [])
    files: list[tuple[str, os.stat_result]] = []
    for root in (Path(os.path.realpath(each)) for each in roots):
        if any(root.is_relative_to(folder) for folder in installed):
            continue
        paths = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        files.extend((str(path), path.stat()) for path in paths if path.is_file())
    return files


def _mtime_ns(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return 0


def _entry(key: str) -> Path:
    return cache_root() / "model-requirements" / f"{key}.json"


def _lookup(key: str) -> list[str] | None:
    entry = _entry(key)
    try:
        kept = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    requirements = kept.get("requirements") if isinstance(kept, dict) else None
    if isinstance(requirements, list) and requirements and all(isinstance(line, str) for line in requirements):
        logger.debug("Model requirements reused from %s", entry)
        return requirements
    return None


def _store(key: str, requirements: list[str]) -> None:
    entry = _entry(key)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=entry.parent, suffix=".tmp", delete=False, encoding="utf-8") as out:
            json.dump({"requirements": requirements}, out)
        os.replace(out.name, entry)  # whole or not at all, whoever else writes the same key
    except OSError as exc:
        logger.debug("Model requirements not kept (%s)", exc)
