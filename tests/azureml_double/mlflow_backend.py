"""Raw HTTP to the real ``mlflow server`` behind the double, and the runs Azure ML makes for its jobs."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import threading
import time
import urllib.parse

from tests.azureml_double._http import HttpError


class MlflowBackend:
    """Raw HTTP to the real ``mlflow server`` behind the double (plain http on 127.0.0.1)."""

    def __init__(self, url: str, db_path: str | None) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.db_path = db_path
        self.lock = threading.Lock()

    def raw(self, method: str, target: str, body: bytes, content_type: str | None) -> tuple[int, bytes, dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            headers = {"Host": f"{self.host}:{self.port}"}
            if content_type:
                headers["Content-Type"] = content_type
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out_headers = {}
            if resp.getheader("Content-Type"):
                out_headers["Content-Type"] = resp.getheader("Content-Type")
            return resp.status, data, out_headers
        except ConnectionError as e:
            raise HttpError(502, "BadGateway", f"mlflow backend unreachable: {e}") from e
        finally:
            conn.close()

    def call(self, method: str, endpoint: str, payload: dict | None = None, query: dict | None = None) -> dict:
        target = "/api/2.0/mlflow/" + endpoint
        if query:
            target += "?" + urllib.parse.urlencode(query)
        body = json.dumps(payload).encode() if payload is not None else b""
        status, data, _ = self.raw(method, target, body, "application/json" if payload is not None else None)
        result = json.loads(data or b"{}")
        if status >= 400:
            raise RuntimeError(f"mlflow {endpoint} -> {status}: {result}")
        return result

    def experiment_id(self, name: str) -> str:
        with self.lock:
            try:
                exp = self.call("GET", "experiments/get-by-name", query={"experiment_name": name})
                return exp["experiment"]["experiment_id"]
            except RuntimeError as e:
                if "RESOURCE_DOES_NOT_EXIST" not in str(e):
                    raise
            return self.call("POST", "experiments/create", {"name": name})["experiment_id"]

    def create_run(self, experiment_id: str, run_id: str, run_name: str, tags: dict[str, str]) -> str:
        """Create a RUNNING run; like Azure ML, try to make its id equal the job name (``run_id``)."""
        created = self.call(
            "POST",
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": int(time.time() * 1000),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
        )["run"]["info"]["run_id"]
        if self.db_path and re.fullmatch(r"[A-Za-z0-9][\w\-]{0,255}", run_id):
            try:
                self._rename_run(created, run_id)
                return run_id
            except Exception as e:  # noqa: BLE001 - fall back to mlflow's own id
                print(f"azureml double: could not give run {created} the job's name {run_id}: {e!r}", flush=True)
        return created

    def _rename_run(self, old: str, new: str) -> None:
        # The double owns this SQLite file; a brand-new run only has rows in ``runs`` and ``tags``.
        con = sqlite3.connect(self.db_path, timeout=30)
        try:
            con.execute("PRAGMA foreign_keys=OFF")
            with con:
                con.execute("UPDATE tags SET run_uuid=? WHERE run_uuid=?", (new, old))
                con.execute(
                    "UPDATE runs SET run_uuid=?, artifact_uri=REPLACE(artifact_uri, ?, ?) WHERE run_uuid=?",
                    (new, old, new, old),
                )
        finally:
            con.close()

    def end_run_if_running(self, run_id: str, status: str) -> None:
        run = self.call("GET", "runs/get", query={"run_id": run_id})["run"]["info"]
        if run.get("status") in ("RUNNING", "SCHEDULED"):
            self.call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)})
