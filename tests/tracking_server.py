"""A real ``mlflow server`` for tests (the benchmarks' one), and a recording proxy that can crash its client.

The proxy keeps every request (method, path, JSON body, headers) so tests count what was really
sent. Given a trigger, it forwards the matching request, waits for the server's answer, and then
kills the client process with SIGKILL *before* handing the answer back: a real crash exactly
between "the server took it" and "the client knew". Given a hold, it keeps the server's answer to
the first matching request until the test releases it: a server that answers late.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness.mlflow_server import MlflowServer

MLFLOW = Path(sys.executable).with_name("mlflow")


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class Crash:
    """Kill ``pid`` once the ``count``-th request matching ``matches`` has been answered upstream."""

    pid: int
    matches: Callable[[Recorded], bool]
    count: int = 1
    seen: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Hold:
    """Keep the server's answer to the first request matching ``matches`` until ``released`` is set."""

    matches: Callable[[Recorded], bool]
    released: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)


class RecordingProxy:
    """An HTTP proxy to ``upstream`` that records requests and can crash the client (see module doc)."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.requests: list[Recorded] = []
        self.crash: Crash | None = None
        self.hold: Hold | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def posted(self, path_suffix: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == "POST" and r.path.split("?")[0].endswith(path_suffix)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                record = Recorded(self.command, self.path, body, dict(self.headers.items()))
                with proxy._lock:
                    proxy.requests.append(record)
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                upstream.request(self.command, self.path, body=raw or None, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                if proxy._crash_now(record):
                    return  # the client is dead; it never hears the answer
                proxy._hold_answer(record)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _hold_answer(self, record: Recorded) -> None:
        hold = self.hold
        with self._lock:
            if hold is None or hold.held.is_set() or not hold.matches(record):
                return
            hold.held.set()
        hold.released.wait(timeout=120)

    def _crash_now(self, record: Recorded) -> bool:
        crash = self.crash
        if crash is None or crash.done.is_set() or not crash.matches(record):
            return False
        with self._lock:
            crash.seen += 1
            if crash.seen != crash.count:
                return False
            os.kill(crash.pid, signal.SIGKILL)
            crash.done.set()
        return True


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real ``mlflow server`` per test session (tests keep to their own experiments)."""
    server = MlflowServer(MLFLOW, tmp_path_factory.mktemp("mlflow-server"))
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture
def recording_proxy(mlflow_server: MlflowServer) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(mlflow_server.port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
