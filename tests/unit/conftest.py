"""Every test in tests/unit runs under the guard of ``tests/unit_guard.py``: no process, socket or SQLite."""

# Probes of libraries, not something a test does, made here before any test so that the first unit test to
# import the library (run alone, or first on a fresh machine) is not refused for them:
# - urllib3 binds a socket to ::1 when first imported, to learn whether the machine has IPv6;
# - matplotlib runs `fc-list` to build its font cache the first time a user (a fresh HOME) imports pyplot.
import matplotlib.font_manager  # noqa: F401
import urllib3.util.connection  # noqa: F401

from tests.unit_guard import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown

__all__ = ["pytest_runtest_call", "pytest_runtest_setup", "pytest_runtest_teardown"]
