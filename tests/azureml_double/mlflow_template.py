"""A pre-migrated empty MLflow SQLite store, kept between sessions: creating the schema takes ~10 s, copying it
milliseconds. Keyed by MLflow's version (a new version may migrate differently)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def template_path(cache_dir: Path | None) -> Path | None:
    """Where the empty store for the installed MLflow is kept (None: no cache, the server makes its own)."""
    if cache_dir is None:
        return None
    try:
        from importlib.metadata import version

        mlflow_version = version("mlflow")
    except Exception:  # noqa: BLE001 - no cached empty db then: the server makes its own
        return None
    return cache_dir / f"mlflow-{mlflow_version}-empty.db"


def save_template(db: Path, template: Path) -> None:
    """Keep ``db`` as the template if no run is in it yet (written aside, then moved in: sessions race)."""
    template.parent.mkdir(parents=True, exist_ok=True)
    tmp = template.with_suffix(f".{os.getpid()}.tmp")
    src = sqlite3.connect(db)
    dst = sqlite3.connect(tmp)
    try:
        if src.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0:  # still pristine
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    if tmp.stat().st_size:
        os.replace(tmp, template)
    else:
        tmp.unlink()
