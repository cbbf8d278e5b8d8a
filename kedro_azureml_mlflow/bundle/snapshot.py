"""Which project files go into the job's code snapshot, and how they get into the staging folder.

The project's ``.amlignore`` (or ``.gitignore`` when there is none) is honoured with git's own
semantics (dulwich's matcher: a negation re-includes a file inside an ignored folder when the
folder itself is re-included, as ``git check-ignore`` says). A fixed set of rules is applied
*after* it and cannot be un-ignored: secrets, local state and virtual environments never leave the
machine, whatever an ignore file says. Files are hard-linked into the staging folder where the
filesystem allows it, so packaging costs no copy of the data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kedro_azureml_mlflow.bundle.secrets import KEDRO_CREDENTIALS_PATTERNS, secret_rules
from kedro_azureml_mlflow.core.errors import PluginError

IGNORE_FILES = (".amlignore", ".gitignore")

# Gitignore syntax. Machine-local state: never uploaded.
LOCAL_STATE = (
    ".git/",
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


def always_excluded(
    conf_source: str, exclude_data: bool, credentials_patterns: Iterable[str] = KEDRO_CREDENTIALS_PATTERNS
) -> list[str]:
    """The rules no ignore file can override; ``conf/local/`` holds the user's own settings."""
    conf = conf_source.strip("/")
    rules = [*secret_rules(conf, credentials_patterns), *LOCAL_STATE, f"/{conf}/local/"]
    if exclude_data:
        rules.append("/data/")
    return rules


class IgnoreRules:
    """The project's ignore file (git semantics) and the rules that always apply on top of it."""

    def __init__(self, user_lines: Iterable[str], forced_lines: Iterable[str]) -> None:
        from dulwich.ignore import IgnoreFilter

        self._user = IgnoreFilter(line.encode() for line in user_lines)
        self._forced = IgnoreFilter(line.encode() for line in forced_lines)

    def skips_folder(self, rel: str) -> bool:
        """Whether nothing below ``rel`` (a folder) can be selected: git stops descending there."""
        folder = f"{rel}/"
        return bool(self._forced.may_prune_directory(folder) or self._user.may_prune_directory(folder))

    def skips_file(self, rel: str) -> bool:
        return bool(self._forced.is_ignored(rel) or self._user.is_ignored(rel))


def select_files(
    project_path: Path,
    conf_source: str = "conf",
    exclude_data: bool = True,
    credentials_patterns: Iterable[str] = KEDRO_CREDENTIALS_PATTERNS,
) -> list[SnapshotFile]:
    """The files to upload, sorted, each at most once."""
    rules = IgnoreRules(_ignore_lines(project_path), always_excluded(conf_source, exclude_data, credentials_patterns))
    selected: list[SnapshotFile] = []
    for folder, dirnames, filenames in os.walk(project_path):
        here = Path(folder)
        rel_folder = here.relative_to(project_path).as_posix()
        prefix = "" if rel_folder == "." else f"{rel_folder}/"
        dirnames[:] = sorted(d for d in dirnames if _enters(here / d, f"{prefix}{d}", rules))
        for name in filenames:
            rel, path = f"{prefix}{name}", here / name
            if not rules.skips_file(rel) and path.is_file():
                selected.append(SnapshotFile(PurePosixPath(rel), path.stat().st_size))
    return sorted(selected, key=lambda f: f.path)


def stage_files(project_path: Path, files: Iterable[SnapshotFile], staging: Path) -> None:
    """Put the selected files into ``staging`` at their relative paths: hard links where the
    filesystem allows (same device), else copies. Staged files must never be written to."""
    can_link = True
    for file in files:
        source, target = project_path / file.path, staging / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if can_link:
            try:
                os.link(source, target)
                continue
            except OSError:
                can_link = False  # another device or a filesystem without hard links: copy from now on
        shutil.copy2(source, target)


def write_new_file(path: Path, text: str) -> None:
    """Write a generated file into the staging folder without touching a linked project file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_text(text)


def empty_conf_envs(
    project_path: Path, files: Iterable[SnapshotFile], conf_source: str, run_env: str
) -> list[PurePosixPath]:
    """The ``.gitkeep`` files that make every conf environment exist in the snapshot.

    Kedro refuses to run with an environment folder that does not exist, and ``conf/local/`` is
    always left out; so the job still finds ``conf/local/`` (and the run env), only empty.
    """
    conf = project_path / conf_source
    envs = {p.name for p in conf.iterdir() if p.is_dir()} if conf.is_dir() else set()
    envs.update({"local", run_env})
    conf_parts = PurePosixPath(conf_source.strip("/")).parts
    depth = len(conf_parts)
    filled = {
        f.path.parts[depth] for f in files if f.path.parts[:depth] == conf_parts and len(f.path.parts) > depth + 1
    }
    return [PurePosixPath(*conf_parts, env, ".gitkeep") for env in sorted(envs - filled)]


def _enters(path: Path, rel: str, rules: IgnoreRules) -> bool:
    return not rules.skips_folder(rel) and not (path / VENV_MARKER).exists() and not path.is_symlink()


def ignore_file(project_path: Path) -> Path | None:
    """The ignore file the snapshot honours: ``.amlignore``, else ``.gitignore``, else none."""
    return next((project_path / name for name in IGNORE_FILES if (project_path / name).is_file()), None)


def _ignore_lines(project_path: Path) -> list[str]:
    path = ignore_file(project_path)
    if path is None:
        return []
    try:
        return path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PluginError(f"{path}: cannot read the ignore file ({exc})") from None
