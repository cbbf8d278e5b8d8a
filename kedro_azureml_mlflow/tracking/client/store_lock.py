"""One process at a time opens an embedded SQLite store, so concurrent first runs don't race.

The first ``MlflowClient`` on a new ``mlflow.db`` creates its tables with Alembic migrations.
Two processes doing that at once collide (``table _alembic_tmp_metrics already exists``) and one
of them fails to open its run. A file lock serialises opening the store; once the tables exist,
holding it costs one uncontended lock per client.

The lock lives with the tracking agent's runtime files (the user's private directory), not beside
the database: there ``git status`` would show it in every project. It is chosen by a digest of the
database's path among a fixed few, so the folder never fills up with one lock per store ever used;
two stores that share a lock only wait for each other while one of them is being opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kedro_azureml_mlflow.tracking.wire.channel import private_dir

# Long enough for the slowest first migration of a store on a shared machine.
LOCK_TIMEOUT_SECONDS = 300.0
_LOCKS = 16


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///…`` URI; ``None`` for other stores and in-memory ones."""
    parts = urlsplit(tracking_uri)
    if parts.scheme != "sqlite" and not parts.scheme.startswith("sqlite+"):
        return None
    path = unquote(parts.path)
    if not path or path == "/" or path.endswith(":memory:"):
        return None
    # As SQLAlchemy reads it: sqlite:///relative.db names "relative.db", sqlite:////abs.db "/abs.db".
    return Path(path[1:])


@contextlib.contextmanager
def store_creation_lock(tracking_uri: str) -> Iterator[None]:
    """Hold the store's lock while a client opens a SQLite store; nothing for other stores."""
    database = sqlite_path(tracking_uri)
    if database is None:
        yield
        return
    from filelock import FileLock

    with FileLock(str(lock_file(database)), timeout=LOCK_TIMEOUT_SECONDS):
        yield


def lock_file(database: Path) -> Path:
    """The lock for ``database``, in the user's private directory (one of a fixed few)."""
    digest = hashlib.sha256(os.fsencode(database.resolve())).digest()
    return private_dir() / f"store-{digest[0] % _LOCKS:02d}.lock"
