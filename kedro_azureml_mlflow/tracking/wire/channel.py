"""The local channel between a ``kedro run`` and its tracking agent (standard library only).

An agent listens on an address only its user can reach: an ``AF_UNIX`` socket in a 0700
directory on POSIX, a named pipe on Windows; every connection must also prove it holds the
agent's authkey (kept next to the socket, readable by the user alone). Messages are JSON,
never pickles, so even a peer that somehow has the key cannot make the agent run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any, TypeVar

_T = TypeVar("_T")
_DIRNAME = "kedro-azureml-mlflow"
_WINDOWS = sys.platform == "win32"


@dataclass(frozen=True)
class Endpoint:
    """Where an agent listens and the file holding its authkey."""

    address: str
    key_file: Path

    @property
    def family(self) -> str:
        return "AF_PIPE" if _WINDOWS else "AF_UNIX"

    def authkey(self) -> bytes:
        return bytes.fromhex(_key_fields(self.key_file)[0])

    def owner(self) -> int | None:
        """The process the key names: its agent once listening, the one starting it until then.

        ``None``: the key names none (written by an older plugin, which kept only the key).
        """
        fields = _key_fields(self.key_file)
        return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _key_fields(key_file: Path) -> list[str]:
    """A key file's lines: the authkey (hex), then the owner's process id."""
    return key_file.read_text().split() or [""]


def _key_text(key_hex: str) -> str:
    """A key file's text, naming this process as the key's owner (read back by ``_key_fields``)."""
    return f"{key_hex}\n{os.getpid()}\n"


# A socket's path must fit in ``sun_path``: 108 bytes on Linux, 104 on macOS (a margin kept).
_MAX_SOCKET_PATH = 100
_SHORT_BASE = Path("/tmp")


def private_dir() -> Path:
    """The user's own directory for agent sockets, keys and logs (0700, owned by the user)."""
    if _WINDOWS:
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        folder = base / _DIRNAME
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return _own_folder(
        Path(runtime) / _DIRNAME if runtime else Path(tempfile.gettempdir()) / f"{_DIRNAME}-{os.getuid()}"
    )


def endpoint_for(name: str, folder: Path | None = None) -> Endpoint:
    """The endpoint called ``name`` (a short hex string) in ``folder`` (default: the user's private directory).

    When ``TMPDIR`` is deep (an Azure ML job's, a test's scratch folder) the socket would not fit in
    ``sun_path``, so it moves to a short private folder under ``/tmp``; the key stays where it was. That
    folder is shared by every private directory of the user, and the agent's name does not say which one
    it serves: the socket's name does, or two agents of one environment under two ``XDG_RUNTIME_DIR``
    would take each other's socket (the second's key then fails against the first's listener).
    """
    folder = private_dir() if folder is None else folder
    if _WINDOWS:
        user = os.environ.get("USERNAME", "user")
        return Endpoint(rf"\\.\pipe\{_DIRNAME}-{user}-{name}", folder / f"{name}.key")
    socket = folder / f"{name}.sock"
    if len(os.fsencode(socket)) > _MAX_SOCKET_PATH:
        owner = hashlib.sha256(os.fsencode(folder)).hexdigest()[:8]
        socket = _own_folder(_SHORT_BASE / f"kam-{os.getuid()}") / f"{name}-{owner}.sock"
    return Endpoint(str(socket), folder / f"{name}.key")


def _own_folder(folder: Path) -> Path:
    """``folder``, created 0700 if missing, refused unless it belongs to this user alone."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} must belong to you alone (mode 0700); remove it and try again")
    return folder


def write_new_key(endpoint: Endpoint) -> bytes:
    """A fresh random authkey, written so that only the user can read it, naming this process as its owner."""
    key = secrets.token_bytes(32)
    endpoint.key_file.unlink(missing_ok=True)
    fd = os.open(endpoint.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_key_text(key.hex()))
    return key


def claim_key(endpoint: Endpoint) -> None:
    """The agent, listening now, names itself as the key's owner (in one step: readers see either file whole).

    Its files are then known to be leftovers once this process is gone (``leftovers``), whoever started it.
    """
    key = endpoint.authkey().hex()
    partial = endpoint.key_file.with_name(f".{endpoint.key_file.name}.{os.getpid()}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_key_text(key))
        os.replace(partial, endpoint.key_file)
    finally:
        partial.unlink(missing_ok=True)  # left only if the replace failed: nothing half-written stays


def remove_key_if_ours(endpoint: Endpoint, authkey: bytes) -> None:
    """Remove an exiting agent's key, unless a newer agent of the same name has written its own since."""
    try:
        if endpoint.authkey() == authkey:
            endpoint.key_file.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass  # gone already, or not a key: nothing of this agent's


def listen(endpoint: Endpoint, authkey: bytes) -> Listener:
    if not _WINDOWS:
        Path(endpoint.address).unlink(missing_ok=True)  # a dead agent's socket; the caller holds the spawn lock
    return Listener(endpoint.address, endpoint.family, authkey=authkey)


def connect(endpoint: Endpoint, timeout: float) -> Connection:
    """Connect and authenticate within ``timeout`` seconds (a hung agent cannot hang the caller)."""
    authkey = endpoint.authkey()
    return within(timeout, lambda: Client(endpoint.address, endpoint.family, authkey=authkey))


def within(timeout: float, call: Callable[[], _T]) -> _T:
    """``call()`` in a helper thread; ``TimeoutError`` if it has not returned after ``timeout``."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            outcome.append((False, exc))

    helper = threading.Thread(target=run, name="kedro-azureml-mlflow-connect", daemon=True)
    helper.start()
    helper.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer within {timeout:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]  # the call's own return type


def send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message).encode())


def receive(conn: Connection) -> dict[str, Any]:
    message = json.loads(conn.recv_bytes())
    if not isinstance(message, dict):
        raise ValueError("not a message")
    return message
