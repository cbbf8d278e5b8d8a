"""Kedro projects generated from the ``azureml-mlflow`` starter, for any test module.

Register with ``pytest_plugins = ["tests.fixtures_projects"]`` (in ``tests/conftest.py`` or
the test module), then ask for:

- ``starter_project_template``: (session) the pristine project made once per test session
  by the real ``kedro new --starter=azureml-mlflow --name demo``. Read it; never run or
  modify it.
- ``starter_project``: (function) a fresh copy of it in ``tmp_path / "demo"``, to run,
  edit or configure (e.g. write ``conf/local/azureml.yml``).

``run_kedro(args, cwd)`` runs the ``kedro`` CLI of the interpreter running the tests in a
subprocess with telemetry off and without tracking variables leaked from the test process
(pass ``env={...}`` to add some back).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.kedro_project import clean_env

STARTER_ALIAS = "azureml-mlflow"
PROJECT_NAME = "demo"


def kedro_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for ``kedro`` subprocesses: telemetry off, no tracking leaks."""
    return clean_env(**(extra or {}))


def run_kedro(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kedro <args>`` in ``cwd``; on ``check`` fail with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=cwd,
        env=kedro_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`kedro {' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result


def create_starter_project(parent: Path, name: str = PROJECT_NAME) -> Path:
    """``kedro new --starter=azureml-mlflow --name <name>`` in ``parent``; the project dir."""
    run_kedro(["new", f"--starter={STARTER_ALIAS}", "--name", name], cwd=parent, timeout=300)
    project = parent / name
    assert (project / "pyproject.toml").is_file(), f"kedro new did not create {project}"
    return project


@pytest.fixture(scope="session")
def starter_project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pristine generated project (shared by the whole session: do not modify it)."""
    return create_starter_project(tmp_path_factory.mktemp("starter"))


@pytest.fixture
def starter_project(starter_project_template: Path, tmp_path: Path) -> Path:
    """A private copy of the generated project, free to run and modify."""
    return Path(
        shutil.copytree(
            starter_project_template,
            tmp_path / starter_project_template.name,
            ignore=shutil.ignore_patterns("__pycache__", "mlflow.db", "mlruns", ".telemetry"),
        )
    )
