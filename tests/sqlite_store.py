"""A real, empty MLflow SQLite store for a test, copied from one migrated once per test process.

MLflow's first client on a new ``mlflow.db`` runs its Alembic migrations: about 8 s per store on this
2-core machine, a copy takes milliseconds (the double keeps its server's store the same way). The copy is
the migrated schema with MLflow's ``Default`` experiment, as a fresh store has; nothing of a test is in it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_template: Path | None = None


def migrated_sqlite_uri(folder: Path, name: str = "mlflow.db") -> str:
    """``sqlite:///<folder>/<name>``, holding a freshly migrated store unless the file is there already."""
    database = folder / name
    if not database.exists():
        shutil.copyfile(_migrated_template(), database)
    return f"sqlite:///{database.as_posix()}"


def _migrated_template() -> Path:
    global _template  # noqa: PLW0603 - one template per process, made on first use
    if _template is None:
        from mlflow.tracking import MlflowClient

        folder = Path(tempfile.mkdtemp(prefix="mlflow-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        database = folder / "mlflow.db"
        MlflowClient(f"sqlite:///{database.as_posix()}").search_experiments()  # runs the migrations
        _template = database
    return _template
