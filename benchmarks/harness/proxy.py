"""A counting reverse proxy: forwards every request to an upstream server and counts it.

The count is observed on the wire (method + path), not taken from the plugin's own report, so it
also sees requests the plugin does not know it makes (MLflow's own ``GET runs/get``, retries).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers, and those the proxy sets itself.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "host",
    "server",
    "date",
}

Answer = tuple[int, str, list[tuple[str, str]], bytes]
Timed = tuple[float, float, str]  # when a request arrived and when its answer was sent (time.time()), what it was


class CountingProxy:
    """Forwards every request to ``127.0.0.1:<upstream_port>`` and counts them (method + path)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._timed: list[Timed] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True)

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def count(self, request: str) -> None:
        with self._lock:
            self._counts[request] += 1

    def timed(self, request: str, arrived: float, answered: float) -> None:
        with self._lock:
            self._timed.append((arrived, answered, request))

    def take_timed(self) -> list[Timed]:
        """Every request since the last call, with when it arrived and was answered (wall clock, to compare
        with other processes' timestamps), in arrival order; and start afresh."""
        with self._lock:
            timed, self._timed = self._timed, []
        return sorted(timed)

    def take(self) -> Counter[str]:
        """The requests counted since the last call (and start counting afresh)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK hold every response back ~40 ms (a 900-request run took 4× longer).
        disable_nagle_algorithm = True
        _conn: http.client.HTTPConnection | None = None

        def _forward(self) -> None:
            arrived = time.time()
            request = f"{self.command} {urlsplit(self.path).path}"
            self._answer()
            proxy.timed(request, arrived, time.time())

        def _answer(self) -> None:
            body = self._body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
            proxy.count(f"{self.command} {urlsplit(self.path).path}")
            try:
                status, reason, out_headers, data = self._upstream(body, headers)
            except (OSError, http.client.HTTPException) as exc:
                status, reason, out_headers = 502, "Bad Gateway", [("Content-Type", "text/plain")]
                data = f"proxy: upstream unreachable: {exc}".encode()
            self.send_response(status, reason)
            for key, value in out_headers:
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _connection(self) -> http.client.HTTPConnection:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                self._conn.connect()
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return self._conn

        def _drop_connection(self) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        def _upstream(self, body: bytes | None, headers: dict[str, str]) -> Answer:
            """One keep-alive connection upstream per client connection (retried once if it went stale)."""
            try:
                return self._exchange(body, headers)
            except (OSError, http.client.HTTPException):
                self._drop_connection()
            return self._exchange(body, headers)

        def _exchange(self, body: bytes | None, headers: dict[str, str]) -> Answer:
            conn = self._connection()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self._drop_connection()
                raise
            if response.will_close:
                self._drop_connection()
            return response.status, response.reason, response.getheaders(), data

        def finish(self) -> None:
            super().finish()
            self._drop_connection()

        def _body(self) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:
            """Silence: the counts are the record."""

    return Handler
