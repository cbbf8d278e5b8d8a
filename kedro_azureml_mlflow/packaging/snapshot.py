"""Which project files go into the job's code snapshot.

The project's ``.amlignore`` (or ``.gitignore`` when there is none) is honoured, but a fixed set of
rules is applied *after* it and cannot be un-ignored: secrets, local state and virtual
environments never leave the machine, whatever an ignore file says.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kedro_azureml_mlflow.errors import PluginError

IGNORE_FILES = (".amlignore", ".gitignore")

# Gitignore syntax. Secrets and machine-local state: never uploaded.
ALWAYS_EXCLUDED = (
    ".git/",
    ".env",
    ".env.*",
    "credentials*.yml",
    "credentials*.yaml",
    "*.pem",
    "*.key",
    "*.pfx",
    "*.p12",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".venv/",
    "venv/",
    "mlflow.db",
    "mlflow.db-*",
    "mlruns/",
    "__pycache__/",
    "*.pyc",
)

# A folder holding this file is a virtual environment, whatever its name.
VENV_MARKER = "pyvenv.cfg"


@dataclass(frozen=True)
class SnapshotFile:
    """One file of the snapshot: its path relative to the project (POSIX) and its size."""

    path: PurePosixPath
    size: int


def always_excluded(conf_source: str, exclude_data: bool) -> list[str]:
    """The rules no ignore file can override; ``conf/local/`` holds the user's credentials."""
    conf = conf_source.strip("/")
    rules = [*ALWAYS_EXCLUDED, f"/{conf}/local/"]
    if exclude_data:
        rules.append("/data/")
    return rules


def select_files(project_path: Path, conf_source: str = "conf", exclude_data: bool = True) -> list[SnapshotFile]:
    """The files to upload, sorted, each at most once."""
    import pathspec

    user_spec = pathspec.GitIgnoreSpec.from_lines(_ignore_lines(project_path))
    forced_spec = pathspec.GitIgnoreSpec.from_lines(always_excluded(conf_source, exclude_data))

    def excluded(rel: str) -> bool:
        return forced_spec.match_file(rel) or user_spec.match_file(rel)

    selected: list[SnapshotFile] = []
    for folder, dirnames, filenames in os.walk(project_path):
        here = Path(folder)
        rel_folder = here.relative_to(project_path).as_posix()
        prefix = "" if rel_folder == "." else f"{rel_folder}/"
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not excluded(f"{prefix}{d}/") and not (here / d / VENV_MARKER).exists() and not (here / d).is_symlink()
        )
        for name in filenames:
            rel = f"{prefix}{name}"
            if not excluded(rel) and (here / name).is_file():
                selected.append(SnapshotFile(PurePosixPath(rel), (here / name).stat().st_size))
    return sorted(selected, key=lambda f: f.path)


def copy_snapshot(project_path: Path, files: Iterable[SnapshotFile], staging: Path) -> None:
    """Copy the selected files into ``staging``, keeping their relative paths."""
    for file in files:
        target = staging / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_path / file.path, target)


def keep_conf_envs(project_path: Path, staging: Path, conf_source: str, run_env: str) -> list[PurePosixPath]:
    """Make every conf environment folder exist in the snapshot, empty ones with a ``.gitkeep``.

    Kedro refuses to run with an environment folder that does not exist, and ``conf/local/`` is
    always left out; so the job still finds ``conf/local/`` (and the run env), only empty.
    """
    conf = project_path / conf_source
    envs = {p.name for p in conf.iterdir() if p.is_dir()} if conf.is_dir() else set()
    envs.update({"local", run_env})
    written = []
    for env in sorted(envs):
        folder = staging / conf_source / env
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.iterdir()):
            (folder / ".gitkeep").touch()
            written.append(PurePosixPath(conf_source, env, ".gitkeep"))
    return written


def _ignore_lines(project_path: Path) -> list[str]:
    for name in IGNORE_FILES:
        path = project_path / name
        if path.is_file():
            try:
                return path.read_text().splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise PluginError(f"{path}: cannot read the ignore file ({exc})") from None
    return []
