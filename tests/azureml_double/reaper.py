"""A watcher that kills the double's processes when the process that started them dies, however it dies.

A pytest killed by a timeout or SIGKILL runs no teardown, and the double's children lead process groups of
their own (so that stopping one stops what it started): without this they would outlive it, holding ports.
PR_SET_PDEATHSIG in each child would not do: it fires when the *thread* that forked the child ends, and it
reaches only the child, not the uvicorn worker of ``mlflow server`` or a job's processes below the control plane.

The launcher starts this script (stdlib only, run by path) in a session of its own, so that a kill of the
test process's group spares it, and keeps the write end of its stdin. It writes the pid of every child it
starts (each leads its own process group), then ``done`` when it has stopped them. When the pipe ends
without ``done`` (the kernel closes a dead process's descriptors) or the watcher's parent changes, the
watcher freezes (SIGSTOP) every process of those groups and all their descendants (found in ``/proc`` while
the tree is still whole, repeated until no new one appears, so none can fork away), SIGKILLs them and exits.
Linux only, like the rest of the double.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from collections.abc import Iterable

DONE = "done"
POLL_SECONDS = 0.5  # how often the parent is checked while the pipe stays open (a forked child may hold it)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] == "Z" else fields  # a zombie holds nothing (no memory, no port)


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot): tells a process from a later one given the same pid."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def process_table() -> dict[int, tuple[int, int]]:
    """``pid -> (ppid, pgid)`` of every live process visible in ``/proc``."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None:
            table[int(entry)] = (int(fields[1]), int(fields[2]))
    return table


def tree(roots: Iterable[int], table: dict[int, tuple[int, int]]) -> set[int]:
    """The live processes of the process groups led by ``roots`` and every descendant of them."""
    leaders = set(roots)
    found = {pid for pid, (_, pgid) in table.items() if pid in leaders or pgid in leaders}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(os.getpid())
    return found


def kill_tree(roots: set[int]) -> set[int]:
    """Freeze the groups led by ``roots`` and their descendants until no new process appears, then kill them.
    Returns the pids killed."""
    frozen: set[int] = set()
    while True:
        new = tree(roots | frozen, process_table()) - frozen
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        frozen |= new
    for pid in frozen:
        _signal(pid, signal.SIGKILL)
    return frozen


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def watch(stream: int, parent: int) -> dict[int, int | None] | None:
    """Read pids from ``stream`` until ``done`` (None: nothing to do) or until the parent is gone: then the pids
    read, each with its start time."""
    roots: dict[int, int | None] = {}
    pending = b""
    while True:
        # Once the parent is gone, read only what it wrote before it went (a slow start-up may not have yet).
        orphaned = os.getppid() != parent
        ready, _, _ = select.select([stream], [], [], 0 if orphaned else POLL_SECONDS)
        if not ready:
            if orphaned:
                break
            continue
        chunk = os.read(stream, 4096)
        if not chunk:  # every writer is gone: the parent died (or dropped the pipe without stopping the double)
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            text = line.decode().strip()
            if text == DONE:
                return None
            if text:
                roots[int(text)] = start_time(int(text))
    return roots


def main() -> None:
    parent = int(sys.argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the tests is not for the watcher
    roots = watch(sys.stdin.fileno(), parent)
    if roots:
        # A child that ended earlier may have left its pid to an unrelated process: only the same process counts.
        kill_tree({pid for pid, started in roots.items() if started is not None and start_time(pid) == started})


if __name__ == "__main__":
    main()
