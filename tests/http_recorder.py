"""A tracking server that takes nothing: it records every request and refuses it.

Pointing ``tracking.tracking_uri`` at it shows whether a run *tried* to track, by what reached the
wire, not by what the plugin says about itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# An MLflow-shaped refusal: 400 is not retried by MLflow's client, so a tracked run gives up at once.
_REFUSAL = json.dumps({"error_code": "BAD_REQUEST", "message": "refused by the test recorder"}).encode()


class HttpRecorder:
    """Records ``"<METHOD> <path>"`` of every request it gets, on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                recorder.requests.append(f"{self.command} {self.path}")
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(_REFUSAL)))
                self.end_headers()
                self.wfile.write(_REFUSAL)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def log_message(self, format: str, *args: object) -> None:
                """The request list is the record."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-recorder", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder()
    yield recorder
    recorder.close()
