"""A job's logs and failure reason, through the SDK's public calls wherever they work.

- An ended job: ``jobs.download`` fetches its logs from the ``default`` output (the artifact store).
- Why a job failed: ``jobs.stream`` of the ended job raises ``JobException`` carrying run history's error.
- A running job: no public call works (see :func:`kedro_azureml_mlflow.core.compat.run_history_details`), so its
  log is read from the URLs run history hands out, printing only what is new at each poll.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.core.errors import PluginError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

USER_LOGS = "user_logs/"
# The log Azure ML shows first: ``std_log.txt``, or rank/process 0's of a multi-node job.
_PRIMARY_LOG = re.compile(r"user_logs/std_log[\D]*0*(?:_ps)?\.txt")


def downloaded_logs(ml_client: MLClient, job_name: str) -> dict[str, str]:
    """An ended job's user logs (``user_logs/...``), by name, through ``jobs.download``."""
    with tempfile.TemporaryDirectory(prefix="kedro-azureml-logs-") as tmp:
        with _quiet():
            ml_client.jobs.download(job_name, download_path=tmp)
        root = Path(tmp) / "artifacts"
        return {
            path.relative_to(root).as_posix(): path.read_text(errors="replace")
            for path in sorted((root / USER_LOGS).rglob("*"))
            if path.is_file()
        }


def failure_reason(ml_client: MLClient, job_name: str) -> str | None:
    """The error run history recorded for an ended, failed job (None when there is none)."""
    from azure.ai.ml.exceptions import JobException

    try:
        with _quiet():
            ml_client.jobs.stream(job_name)
    except JobException as exc:
        return _error_message(str(exc.message))
    return None


def _error_message(text: str) -> str:
    """``{"error": {"code", "message"}}`` out of the exception's text (its JSON follows a label)."""
    start = text.find("{")
    try:
        error = json.loads(text[start:]) if start >= 0 else {}
    except ValueError:
        return text.strip()
    inner = error.get("error") or {}
    return str(inner.get("message") or inner.get("code") or text.strip())


@contextlib.contextmanager
def _quiet() -> Any:
    """The SDK prints banners and progress to stdout; the plugin prints what it chooses."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class LogFollower:
    """Prints each new line of a running job's primary log, one poll at a time."""

    def __init__(self, ml_client: MLClient, job_name: str, echo: Callable[[str], None]) -> None:
        self.ml_client = ml_client
        self.job_name = job_name
        self.echo = echo
        self.printed: dict[str, int] = {}

    def poll(self) -> None:
        """Print what was added to the job's primary log(s) since the last poll."""
        from kedro_azureml_mlflow.core.compat import run_history_details

        files = run_history_details(self.ml_client, self.job_name).log_files or {}
        for name in sorted(n for n in files if _PRIMARY_LOG.fullmatch(n)):
            lines = _fetch(files[name], name, self.job_name).splitlines()
            done = self.printed.get(name, 0)
            if len(lines) > done and done == 0:
                self.echo(f"── {name}")
            for line in lines[done:]:
                self.echo(line)
            self.printed[name] = max(done, len(lines))


def _fetch(url: str, name: str, job_name: str) -> str:
    import requests

    try:
        response = requests.get(url, timeout=60)
        if response.status_code == 404:  # not written yet
            return ""
        response.raise_for_status()
    except requests.RequestException as exc:
        raise PluginError(f"Could not read {name} of job '{job_name}': {exc}") from None
    return response.text
