"""The double's child processes (mlflow server, Azurite, the control plane): start, wait until ready, stop.

Each child leads its own process group (``start_new_session``), so stopping it stops what it started too
(the uvicorn worker of ``mlflow server``, Node's helpers).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DoubleStartError(RuntimeError):
    pass


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path


def spawn(name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Child:
    """Start ``argv`` in a process group of its own, its output appended to ``log``."""
    with open(log, "ab") as fh:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, proc, log)


def wait_until(probe: Callable[[], Any], child: Child, deadline: float) -> Any:
    """Poll ``probe`` until it returns something truthy; a child that exits or a passed deadline raises
    :class:`DoubleStartError` with the end of the child's log."""
    while True:
        try:
            result = probe()
        except Exception:  # noqa: BLE001 - not ready yet; the deadline decides when to give up
            result = None
        if result:
            return result
        if child.proc.poll() is not None:
            raise DoubleStartError(
                f"{child.name} exited with {child.proc.returncode} during start-up; log {child.log}:\n"
                + child.log.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > deadline:
            raise DoubleStartError(
                f"{child.name} not ready in time; log {child.log}:\n" + child.log.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.05)


def tcp_ok(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


def stop_all(children: list[Child], grace: float) -> None:
    """SIGTERM every process group at once, SIGKILL what is left of them after ``grace`` seconds."""
    procs = [c.proc for c in children]
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        # Even when the leader exited, something of its group may survive (uvicorn workers, node children...).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(5)
