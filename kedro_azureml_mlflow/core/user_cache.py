"""Where the plugin keeps what is slow to make and safe to reuse (built wheels, inferred requirements)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "KEDRO_AZUREML_MLFLOW_CACHE_DIR"


def cache_root() -> Path:
    """``$KEDRO_AZUREML_MLFLOW_CACHE_DIR``, else ``$XDG_CACHE_HOME`` or ``~/.cache``, ``/kedro-azureml-mlflow``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kedro-azureml-mlflow"
