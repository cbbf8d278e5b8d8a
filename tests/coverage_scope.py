"""Which of the tests' subprocesses coverage measures: the ones that can run the plugin's code.

Under ``patch = ["subprocess"]`` (pyproject.toml) every Python process started with coverage's
variables in its environment is traced line by line, about a third more CPU on Python 3.11. A server
that never imports the plugin (an ``mlflow server``, the Azure ML double's control plane) would pay that
and record nothing: it is started without them. Jobs the double runs start from a clean environment.
"""

from __future__ import annotations

from collections.abc import Mapping

COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def unmeasured(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without what would make coverage trace the process started with it."""
    return {key: value for key, value in env.items() if key not in COVERAGE_VARIABLES}
