"""Every test in tests/unit runs under the guard of ``tests/unit_guard.py``: no process, socket or SQLite."""

from tests.unit_guard import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown

__all__ = ["pytest_runtest_call", "pytest_runtest_setup", "pytest_runtest_teardown"]
