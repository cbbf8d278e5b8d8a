"""A warm agent checks, at each run's start, that what it holds open is still the project's: its store, its folder.

MLflow keeps one store (and its engine, with the database file open) per URI for the life of the
process. After ``rm mlflow.db``, or a project deleted and made again at the same path, that engine
would go on writing to the deleted file (``attempt to write a readonly database``) and no new
``mlflow.db`` would appear. One ``stat`` per run tells: the file's identity (device, inode) when
the agent last used it, against now. When it is gone or another file, MLflow's store is built
afresh, which creates the new database. (The agent never works in a project's folder: each run names
its store's artifact root, ``TargetSpec.in_project``, so a project deleted and made again needs nothing.)
"""

from __future__ import annotations

import threading
from pathlib import Path

from kedro_azureml_mlflow.tracking.client.store_lock import sqlite_path

FileIdentity = tuple[int, int] | None  # (st_dev, st_ino); None: no such file


def file_identity(path: Path) -> FileIdentity:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


class StoreWatch:
    """The identity of every SQLite store this agent has used, as it was after its last run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, FileIdentity] = {}

    def before_run(self, tracking_uri: str | None) -> None:
        """Forget MLflow's store for ``tracking_uri`` if its file is gone or not the one used last."""
        path = sqlite_path(tracking_uri) if tracking_uri else None
        if path is None or tracking_uri is None:
            return
        with self._lock:
            if tracking_uri not in self._seen:
                return  # never opened by this agent: nothing of it is kept
            now = file_identity(path)
            changed = now is None or now != self._seen[tracking_uri]
            if changed:
                del self._seen[tracking_uri]
        if changed:
            from kedro_azureml_mlflow.core.compat import forget_sql_store

            forget_sql_store(tracking_uri)

    def opened(self, tracking_uri: str) -> None:
        """Remember the file a run has opened (MLflow keeps its store open for the next run)."""
        path = sqlite_path(tracking_uri)
        if path is None:
            return
        with self._lock:
            self._seen[tracking_uri] = file_identity(path)
