"""What a test sees of processes it started, and of their descendants, in ``/proc`` (Linux)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.azureml_double.reaper import process_table, start_time, tree


def descendants(pid: int, at_least: int) -> set[int] | None:
    """The live descendants of ``pid``, once there are ``at_least`` of them."""
    found = tree([pid], process_table()) - {pid}
    return found if len(found) >= at_least else None


def alive(processes: dict[int, int | None]) -> dict[int, str]:
    """Which of ``pid -> start time`` still run (a zombie or a new process under the same pid does not)."""
    return {pid: command_line(pid) for pid, started in processes.items() if start_time(pid) == started}


def ended(processes: dict[int, int | None], within: float) -> dict[int, str]:
    """Wait until none of ``processes`` runs, at most ``within`` seconds; what still runs then (pid -> command)."""
    deadline = time.monotonic() + within
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def command_line(pid: int) -> str:
    """The command line of ``pid`` as one string (``?`` once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
