"""Commands that run Kedro through ``standalone/kedro_launcher.py``, with or without some plugins.

Both sides of a with/without comparison go through the same launcher, so the launcher's own cost
cancels out; hiding a plugin's entry points is as close to "not installed" as one venv gets.
"""

from __future__ import annotations

from benchmarks.harness.common import STANDALONE, bench_env

LAUNCHER = STANDALONE / "kedro_launcher.py"


def launcher_command(python: str, *kedro_args: str) -> list[str]:
    """``python kedro_launcher.py <kedro args>``: the ``kedro`` CLI of that interpreter's environment."""
    return [python, str(LAUNCHER), *kedro_args]


def hiding(*dists: str) -> dict[str, str]:
    """The clean environment, with these distributions hidden from the launcher ('' hides none)."""
    return bench_env(BENCH_HIDE_DISTS=",".join(dists))
