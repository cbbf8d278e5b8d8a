"""The double's test-only control API (``/_double/*``), as methods of :class:`~.launcher.AzureMLDouble`:
the request log, reset and settings, fault injection, job internals and logs."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any


class ControlClient:
    """Calls the control plane's ``/_double/*`` endpoints (over HTTPS, trusting the test CA)."""

    base_url: str
    ca_bundle: Path
    _ssl_ctx: ssl.SSLContext | None = None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
        )
        if self._ssl_ctx is None:
            self._ssl_ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(req, context=self._ssl_ctx, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def _post(self, path: str, body: Any = None) -> Any:
        return self._call("POST", path, body if body is not None else {})

    def requests(self, since: int = 0, path_contains: str | None = None, method: str | None = None) -> list[dict]:
        """Recorded requests ``{seq, time, method, path, query, status, duration_ms, request_bytes, aud, token_exp
        [, fault][, headers, body]}`` (``headers``/``body`` with ``settings(record_bodies=True)``),
        oldest first (test-only endpoints excluded). Filter by substring of the path and/or method. ``path`` is
        the decoded path without the query (``/mferp/managementfrontend`` stripped), ``aud`` the bearer token's
        audience (None without a JWT)."""
        items = self._call("GET", f"/_double/requests?since={since}")["requests"]
        if path_contains is not None:
            items = [r for r in items if path_contains in r["path"]]
        if method is not None:
            items = [r for r in items if r["method"] == method.upper()]
        return items

    def mlflow_requests(self, since: int = 0) -> list[dict]:
        """Recorded MLflow calls (under the workspace's ``/mlflow/v2.0/...`` prefix)."""
        return [r for r in self.requests(since) if r["path"].startswith("/mlflow/v2.0/")]

    def last_seq(self) -> int:
        items = self.requests()
        return items[-1]["seq"] if items else 0

    def reset(self, state: bool = False) -> None:
        """Clear the request log and all faults, restore default settings; ``state=True`` also cancels and
        forgets jobs, code assets and environments (MLflow data and blobs are kept)."""
        self._post("/_double/reset", {"state": state})

    def settings(self, **values: Any) -> dict:
        """Switch double behaviours for the rest of the test (``reset()`` / the fixture restore defaults):
        ``azure_limits=False`` lets through what Azure ML's MLflow rejects (>250 metrics per log-batch,
        >200 params per run, ordering by metrics/params/tags, OR filters, experiment renames);
        ``record_bodies=True`` keeps every request's headers and body in :meth:`requests`;
        ``token_lifetime_seconds`` (3600) is how long tokens from the identity endpoints live, and a token
        expired longer ago than ``token_clock_skew_seconds`` (300) gets Azure's 401 ``ExpiredAuthenticationToken``."""
        return self._post("/_double/settings", values)

    def inject_http_fault(
        self, path_regex: str, status: int = 429, count: int = 1, method: str = "*", retry_after: float | int | None = 1
    ) -> None:
        """Answer the next ``count`` requests whose path (or ``path?query``) matches ``path_regex`` (``re.search``) with
        ``status`` (429 / 500 / 503...) and an Azure error body; ``Retry-After`` if not None."""
        self._post(
            "/_double/faults",
            {
                "kind": "http",
                "path": path_regex,
                "status": status,
                "count": count,
                "method": method,
                "retry_after": retry_after,
            },
        )

    def mlflow_down(self, seconds: float | None = None, mode: str = "503") -> None:
        """Make the MLflow proxy fail for ``seconds`` (None: until :meth:`clear_faults`). ``mode="503"``
        answers 503 + Retry-After; ``mode="reset"`` drops the connection without a reply."""
        self._post("/_double/faults", {"kind": "mlflow_down", "seconds": seconds, "mode": mode})

    def fail_next_job(self, count: int = 1, message: str | None = None) -> None:
        """The next ``count`` submitted jobs fail (the command is not run)."""
        self._post("/_double/faults", {"kind": "fail_next_job", "count": count, "message": message})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_double/faults")

    def faults(self) -> dict:
        return self._call("GET", "/_double/faults")

    def jobs(self) -> list[dict]:
        """Emulated-compute internals of every job (see :meth:`job_info`)."""
        return self._call("GET", "/_double/jobs")["jobs"]

    def force_job_status(self, name: str, status: str | None) -> dict:
        """Make the APIs report ``status`` for job ``name`` (any Azure ML job status; None: its own again)."""
        return self._post(f"/_double/jobs/{name}/status", {"status": status})

    def job_info(self, name: str) -> dict:
        """Emulated-compute internals of a job: pid, process_alive, exit_code, scratch_dir, mlflow_run_id..."""
        return self._call("GET", f"/_double/jobs/{name}")

    def wait_for_job(
        self, name: str, timeout: float = 120.0, statuses: tuple[str, ...] = ("Completed", "Failed", "Canceled")
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.job_info(name)
            if info["status"] in statuses:
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {name} still {info['status']} after {timeout}s")
            time.sleep(0.05)

    def job_log(self, name: str) -> str:
        path = self.job_info(name)["log_path"]
        return Path(path).read_text(errors="replace") if path else ""
