"""The files of tracking agents that are gone without removing them (``kill -9``, a crash): found and removed.

An agent removes its socket and key when it exits; one killed outright cannot. Its files are removed
only when it is verifiably gone: nobody listens on its socket (the file is missing, or connecting is
refused) and the process its key names is not alive. A key that names no process (an older plugin's)
counts as gone only once it is older than an agent's start-up may take. The caller holds the spawn
lock (``launcher.spawn_lock``), so no agent is being started under the same name meanwhile. Never
on Windows: a named pipe leaves no file behind, and probing a process id there could end it.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, endpoint_for

STARTUP_SECONDS = 30.0  # as long as a starter waits for its agent (``launcher``)


def remove_leftovers(folder: Path) -> list[str]:
    """Remove the key and socket of every agent of ``folder`` that is verifiably gone; their names."""
    if sys.platform == "win32":
        return []
    removed = []
    for key_file in sorted(folder.glob("*.key")):
        endpoint = endpoint_for(key_file.stem)
        if agent_gone(endpoint):
            Path(endpoint.address).unlink(missing_ok=True)
            key_file.unlink(missing_ok=True)
            removed.append(key_file.stem)
    return removed


def agent_gone(endpoint: Endpoint) -> bool:
    """Nobody listens on the endpoint's socket and the process its key names is not alive (POSIX)."""
    try:
        owner = endpoint.owner()
        age = time.time() - endpoint.key_file.stat().st_mtime
    except (OSError, ValueError):
        return False  # removed meanwhile (its agent exited), or not a key of ours: not ours to touch
    if owner is not None and alive(owner):
        return False
    if owner is None and age < STARTUP_SECONDS:
        return False  # perhaps being started by an older plugin, which names no owner
    return not listening(endpoint.address)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, killed and not yet reaped, does not: nobody may reap it soon)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process now has that id: not provably gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): os.kill said it exists
    return state != "Z"


def listening(address: str) -> bool:
    """Whether something accepts connections on the socket (anything but "missing" or "refused" counts)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(address)
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except OSError:
        return True  # a timeout, a permission problem: not provably gone
    finally:
        probe.close()
    return True
