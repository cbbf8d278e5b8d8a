"""What keeps ``tests/unit`` the quick loop: a test there (its fixtures included) that starts a process,
binds or connects a socket (a server, a client, an agent's channel) or opens an SQLite database fails, naming
what it did. ``tests/unit/conftest.py`` takes these hooks; such a test belongs in ``tests/integration``.

Most of it is seen through audit events (PEP 578). Starting a process through ``multiprocessing``'s spawn or
forkserver raises none, so ``_posixsubprocess.fork_exec``, which every process start goes through, is watched
too. The exception stops the call; a test that swallows it still fails, from the list kept here.
"""

from __future__ import annotations

import _posixsubprocess
import platform
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

WATCHED = {
    "subprocess.Popen",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.system",
    "os.exec",
    "socket.bind",
    "socket.connect",
    "sqlite3.connect",
}


class UnitTierViolation(RuntimeError):
    """A unit test reached for a process, a socket or an SQLite database."""


class _Guard:
    def __init__(self) -> None:
        self.active = False
        self.found: list[str] = []
        self.bystanders: set[int] = set()  # threads that were running before the test (earlier tests' servers)

    def start(self) -> None:
        self.active, self.found = True, []
        self.bystanders = {t.ident for t in threading.enumerate() if t.ident is not None} - {threading.get_ident()}

    def watching(self) -> bool:
        return self.active and threading.get_ident() not in self.bystanders

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in WATCHED or not self.watching():
            return
        if event == "sqlite3.connect" and ".coverage" in str(args[0]):
            return  # coverage's own data file, not the test's
        self.refuse(f"{event} {args[:2]!r}"[:300])

    def refuse(self, what: str) -> None:
        self.found.append(what)
        raise UnitTierViolation(f"tests/unit may not start processes, open sockets or SQLite databases: {what}")


# The standard library asks ``uname -p`` once, for whoever first wants the processor name (MLflow and
# Azure's user agents do): ask it here, before any test, so its cache answers them.
platform.processor()
_GUARD = _Guard()
sys.addaudithook(_GUARD.audit)
_fork_exec = _posixsubprocess.fork_exec


def _watched_fork_exec(*args: Any, **kwargs: Any) -> Any:
    if _GUARD.watching():
        _GUARD.refuse(f"process start {args[0]!r}"[:300])
    return _fork_exec(*args, **kwargs)


_posixsubprocess.fork_exec = _watched_fork_exec


def _guarded() -> Generator[None, Any, Any]:
    _GUARD.start()
    try:
        result = yield
    finally:
        _GUARD.active = False
    if _GUARD.found:
        pytest.fail(
            "tests/unit is for tests without processes, sockets or SQLite; move this one to tests/integration. "
            "It did: " + "; ".join(_GUARD.found),
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    return (yield from _guarded())
