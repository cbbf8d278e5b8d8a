"""What every benchmark module shares: where the repository is, the console, quiet subprocesses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from rich.console import Console

from tests.kedro_project import clean_env

REPO = Path(__file__).resolve().parents[2]
STANDALONE = Path(__file__).resolve().parent / "standalone"  # scripts run in other interpreters

console = Console(width=max(120, shutil.get_terminal_size((160, 40)).columns))


def rel(path: Path) -> str:
    """A path as printed or saved: relative to the repo, never an absolute scratch path."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name


def bench_env(**extra: str) -> dict[str, str]:
    """The test suite's clean subprocess env (telemetry off, no leaked MLFLOW_*/AZUREML_*, COLUMNS=400)."""
    env = clean_env(**extra)
    env.pop("VIRTUAL_ENV", None)
    return env


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_quiet(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run a command to completion with its output captured; the caller reads the return code."""
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
