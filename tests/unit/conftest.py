"""Every test in tests/unit runs under the guard of ``tests/unit_guard.py``: no process, socket or SQLite."""

# urllib3 binds a socket to ::1 when first imported, to learn whether the machine has IPv6: a probe of
# the library's, not something a test does. Imported here, before any test, so that a unit test run alone
# (the first to import requests, MLflow or the Azure SDK) is not refused for it.
import urllib3.util.connection  # noqa: F401

from tests.unit_guard import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown

__all__ = ["pytest_runtest_call", "pytest_runtest_setup", "pytest_runtest_teardown"]
