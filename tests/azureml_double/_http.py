"""Minimal routing + TLS HTTP plumbing for the fake control plane (stdlib only).

A route is a method, a regex on the *path* (``re.fullmatch``) and a handler ``handler(req, **groups)``
returning ``(status, body)`` or ``(status, body, headers)``. ``body`` may be a dict/list (sent as JSON),
``bytes``/``str`` or ``None``. Raise :class:`HttpError` for error replies.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpError(Exception):
    """An error reply. ``body`` defaults to Azure's error envelope ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body if body is not None else azure_error(code, message)
        self.headers = headers or {}


def azure_error(code: str, message: str, **extra: Any) -> dict:
    err = {"code": code, "message": message, "details": [], "additionalInfo": []}
    err.update(extra)
    return {"error": err}


@dataclass
class Request:
    method: str
    path: str  # decoded path, without query
    raw_path: str
    query: dict[str, str]
    headers: Any  # email.message.Message (case-insensitive get)
    body: bytes
    base_url: str  # https://127.0.0.1:PORT
    context: dict = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None


Handler = Callable[..., Any]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler, dict]] = []

    def add(self, method: str, pattern: str, handler: Handler, first: bool = False, **options: Any) -> None:
        """Add a route; ``first`` puts it before every route added so far (to carve an exception out of a
        catch-all such as the MLflow proxy: the first match wins)."""
        route = (method.upper(), re.compile(pattern, re.IGNORECASE), handler, options)
        if first:
            self.routes.insert(0, route)
        else:
            self.routes.append(route)

    def route(self, method: str, pattern: str, first: bool = False, **options: Any) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn, first=first, **options)
            return fn

        return deco

    def match(self, method: str, path: str):
        path_matched = False
        for m, rx, handler, options in self.routes:
            mo = rx.fullmatch(path)
            if mo is None:
                continue
            path_matched = True
            if m in (method, "*"):
                return handler, mo.groupdict(), options
        return None, None, path_matched


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AzureMLDouble/1.0"
    app: App  # set on the subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        started = time.monotonic()
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        req = Request(
            method=self.command,
            path=urllib.parse.unquote(parsed.path),
            raw_path=parsed.path,
            query=dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            base_url=self.app.base_url,
        )
        status, payload, headers = self.app.dispatch(req)
        if status == -1:  # "connection reset" fault: drop the connection without a reply
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            self.app.on_response(req, 0, time.monotonic() - started)
            return
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif payload is None:
            data = b""
        else:
            data = payload
        self.send_response(status)
        explicit_length = None
        for k, v in headers.items():
            if k.lower() == "content-length":
                explicit_length = str(v)
                continue
            self.send_header(k, str(v))
        # HEAD replies may carry the length of the body they do not send (blob properties).
        length = explicit_length if (self.command == "HEAD" and explicit_length is not None) else str(len(data))
        self.send_header("Content-Length", length)
        if not any(k.lower() == "x-ms-request-id" for k in headers):
            self.send_header("x-ms-request-id", req.context.get("request_id", ""))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)
        self.app.on_response(req, status, time.monotonic() - started)

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class App:
    """Routes + request hooks; subclass and override :meth:`dispatch` hooks as needed."""

    base_url = ""

    def dispatch(self, req: Request) -> tuple[int, Any, dict]:  # pragma: no cover - overridden
        raise NotImplementedError

    def on_response(self, req: Request, status: int, elapsed: float) -> None:
        pass


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler_cls, ssl_context: ssl.SSLContext):
        self._ssl_context = ssl_context
        super().__init__(addr, handler_cls)

    def get_request(self):
        sock, addr = self.socket.accept()
        # Handshake lazily in the per-connection thread, not in the accept loop.
        return self._ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def serve_tls(app: App, host: str, port: int, certfile: str, keyfile: str) -> tuple[ThreadingHTTPServer, int]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    handler_cls = type("BoundHandler", (_Handler,), {"app": app})
    server = _TLSServer((host, port), handler_cls, ctx)
    bound_port = server.server_address[1]
    app.base_url = f"https://{host}:{bound_port}"
    thread = threading.Thread(target=server.serve_forever, name="double-http", daemon=True)
    thread.start()
    return server, bound_port
