"""The guard of tests/unit (``tests/unit_guard.py``) fails a test that starts a process, opens a socket or an
SQLite database, even one that swallows the refusal, and lets a pure test pass."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

GUARDED_TESTS = textwrap.dedent(
    """
    import multiprocessing, socket, sqlite3, subprocess

    def test_pure():
        assert sum(range(4)) == 6

    def test_subprocess():
        subprocess.run(["true"])

    def test_swallowed_subprocess():
        try:
            subprocess.run(["true"])
        except Exception:
            pass

    def test_spawned_worker():
        multiprocessing.get_context("spawn").Process(target=print).start()

    def test_server_socket():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))

    def test_sqlite(tmp_path):
        sqlite3.connect(tmp_path / "store.db")
    """
)


def test_the_guard_fails_every_test_that_reaches_out_and_only_those(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.unit_guard import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown\n"
    )
    (tmp_path / "test_guarded.py").write_text(GUARDED_TESTS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    failed = {line.split("::")[1].split(" ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")}
    assert failed == {
        "test_subprocess",
        "test_swallowed_subprocess",
        "test_spawned_worker",
        "test_server_socket",
        "test_sqlite",
    }, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
