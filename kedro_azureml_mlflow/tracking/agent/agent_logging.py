"""Logging and MLflow HTTP settings of the tracking agent process (never of the pipeline's)."""

from __future__ import annotations

import io
import logging
import os
import sys
from typing import TextIO

from kedro_azureml_mlflow.core.redaction import scrub

# The agent's MLflow client waits less than MLflow's defaults (120 s per attempt, 7 retries with
# a backoff factor of 2: minutes per request). A lower value set by the user is kept.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": 20.0,
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": 3.0,
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": 1.0,
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": 1.0,
}


def bound_http_requests() -> None:
    """Cap MLflow's per-request timeout and retries in this (the agent's) process."""
    for name, cap in HTTP_LIMITS.items():
        try:
            value = min(float(os.environ[name]), cap)
        except (KeyError, ValueError):
            value = cap
        os.environ[name] = str(int(value)) if value == int(value) else str(value)


class _Scrubbed(io.TextIOBase):
    """The agent's stderr (its log file) with URI passwords and secret query values masked.

    MLflow names the server in its errors as it was given, ``http://user:password@host/api/2.0/…``;
    tracebacks and warnings reach stderr without passing through a log record.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def fileno(self) -> int:
        return self._stream.fileno()


def configure_logging() -> None:
    """Everything to stderr, which the launcher points at the agent's log file, secrets masked."""
    sys.stderr = _Scrubbed(sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("kedro_azureml_mlflow").setLevel(logging.INFO)
