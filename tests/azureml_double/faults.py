"""Fault injection (test-only): HTTP errors on matching paths, an MLflow outage, jobs that fail."""

from __future__ import annotations

import re
import threading
import time

from tests.azureml_double._http import HttpError


class Faults:
    """Fault injection state. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.http: list[dict] = []
        self.mlflow_down_until: float | None = None  # monotonic deadline, inf = until cleared
        self.mlflow_down_mode = "503"
        self.fail_next_jobs = 0
        self.fail_next_jobs_message = "Injected failure (azureml double fault: fail_next_job)"

    def clear(self) -> None:
        with self.lock:
            self.http.clear()
            self.mlflow_down_until = None
            self.fail_next_jobs = 0

    def snapshot(self) -> dict:
        with self.lock:
            down = None
            if self.mlflow_down_until is not None:
                left = self.mlflow_down_until - time.monotonic()
                down = None if left <= 0 else ("forever" if left == float("inf") else round(left, 3))
            return {
                "http": [dict(f, regex=f["regex"].pattern) for f in self.http],
                "mlflow_down_seconds_left": down,
                "mlflow_down_mode": self.mlflow_down_mode,
                "fail_next_jobs": self.fail_next_jobs,
            }

    def add(self, spec: dict) -> dict:
        kind = spec.get("kind")
        with self.lock:
            if kind == "http":
                fault = {
                    "method": (spec.get("method") or "*").upper(),
                    "regex": re.compile(spec["path"]),
                    "status": int(spec.get("status", 429)),
                    "count": int(spec.get("count", 1)),
                    "retry_after": spec.get("retry_after"),
                    "hits": 0,
                }
                self.http.append(fault)
                return {"kind": kind, "path": spec["path"], "count": fault["count"]}
            if kind == "mlflow_down":
                seconds = spec.get("seconds")
                self.mlflow_down_until = time.monotonic() + float(seconds) if seconds else float("inf")
                self.mlflow_down_mode = spec.get("mode", "503")
                return {"kind": kind, "seconds": seconds, "mode": self.mlflow_down_mode}
            if kind == "fail_next_job":
                self.fail_next_jobs += int(spec.get("count", 1))
                if spec.get("message"):
                    self.fail_next_jobs_message = spec["message"]
                return {"kind": kind, "count": self.fail_next_jobs}
        raise HttpError(400, "BadRequest", f"unknown fault kind {kind!r}")

    def http_fault_for(self, method: str, target: str) -> dict | None:
        with self.lock:
            for fault in self.http:
                if fault["count"] <= 0:
                    continue
                if fault["method"] not in ("*", method):
                    continue
                path = target.split("?", 1)[0]
                if fault["regex"].search(path) or fault["regex"].search(target):
                    fault["count"] -= 1
                    fault["hits"] += 1
                    return dict(fault)
        return None

    def mlflow_down(self) -> str | None:
        with self.lock:
            if self.mlflow_down_until is None:
                return None
            if time.monotonic() >= self.mlflow_down_until:
                self.mlflow_down_until = None
                return None
            return self.mlflow_down_mode

    def take_job_failure(self) -> str | None:
        with self.lock:
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                return self.fail_next_jobs_message
        return None
