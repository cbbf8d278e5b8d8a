"""One process at a time opens an embedded SQLite store, so concurrent first runs don't race.

The first ``MlflowClient`` on a new ``mlflow.db`` creates its tables with Alembic migrations.
Two processes doing that at once collide (``table _alembic_tmp_metrics already exists``) and one
of them fails to open its run. A file lock beside the database serialises opening the store; once
the tables exist, holding it costs one uncontended lock per client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Long enough for the slowest first migration of a store on a shared machine.
LOCK_TIMEOUT_SECONDS = 300.0


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
    """Hold ``.<db name>.lock`` beside a SQLite store while a client opens it; nothing for other stores."""
    database = sqlite_path(tracking_uri)
    if database is None:
        yield
        return
    from filelock import FileLock

    with FileLock(str(database.parent / f".{database.name}.lock"), timeout=LOCK_TIMEOUT_SECONDS):
        yield
