"""Wait for a condition, not for a time: poll until it holds, and fail the test when the deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value ``condition()`` returns; the test fails if none comes within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what} (last: {result!r})", pytrace=False)
        time.sleep(interval)  # between polls; the deadline above is what ends the wait
