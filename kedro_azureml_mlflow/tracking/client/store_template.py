"""A new SQLite store starts as a copy of an empty one, made once per MLflow version, not by MLflow's migrations.

MLflow creates a database by running every schema migration: 2 to 10 s, which was nearly all of a new
project's first run once one agent serves every project of the environment. The migrated, empty store is
kept in the user's private folder (one file, for the installed MLflow version: the schema is MLflow's) and
copied to the new path under the store's lock; its ``Default`` experiment is then given the artifact
location MLflow would have given it in the new store. A store MLflow opens afterwards is exactly one it
had made itself: same tables, same migration head, same ``Default`` experiment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from kedro_azureml_mlflow.tracking.client.store_lock import LOCK_TIMEOUT_SECONDS, sqlite_path
from kedro_azureml_mlflow.tracking.wire.channel import private_dir

logger = logging.getLogger(__name__)

TEMPLATE_PREFIX = "empty-store-mlflow-"
TEMPLATE_LOCK = "store-template.lock"


def start_from_template(tracking_uri: str, artifact_root: str | None) -> None:
    """Make a missing SQLite store as a copy of the empty one; call it holding the store's lock.

    Anything else (another store, an existing file, a missing folder: MLflow's own error names it) is left
    to MLflow; so is a store the template could not be made for (said in the log).
    """
    database = sqlite_path(tracking_uri)
    if database is None or database.exists() or not database.parent.is_dir():
        return
    try:
        template = empty_store()
        partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
        shutil.copyfile(template, partial)
        try:
            from kedro_azureml_mlflow.core.compat import set_default_experiment_location

            set_default_experiment_location(partial, artifact_root)
            # Linked, never moved over: a store another MLflow process (`mlflow ui`, a notebook) has begun
            # making meanwhile is left to it, not replaced under its open connection.
            with contextlib.suppress(FileExistsError):
                os.link(partial, database)
        finally:
            partial.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - MLflow makes the store itself, as it always did
        logger.warning("Could not start %s from the empty store (%s); MLflow creates it", database, exc)


def empty_store() -> Path:
    """The migrated, empty store for the installed MLflow, made (once, under a lock) if missing."""
    import mlflow

    folder = private_dir()
    template = folder / f"{TEMPLATE_PREFIX}{mlflow.__version__}.db"
    if template.exists():
        return template
    from filelock import FileLock

    with FileLock(str(folder / TEMPLATE_LOCK), timeout=LOCK_TIMEOUT_SECONDS):
        if template.exists():
            return template
        making = template.with_name(f"{template.name}.{os.getpid()}.partial")
        making.unlink(missing_ok=True)
        from kedro_azureml_mlflow.core.compat import create_empty_store

        create_empty_store(making)
        os.replace(making, template)
        for older in folder.glob(f"{TEMPLATE_PREFIX}*.db"):  # an earlier MLflow's: never used again
            if older != template:
                with contextlib.suppress(OSError):
                    older.unlink()
    return template
