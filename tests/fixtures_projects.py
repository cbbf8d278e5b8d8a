"""Kedro projects generated from the ``azureml-mlflow`` starter, for any test module.

Register with ``pytest_plugins = ["tests.fixtures_projects"]`` (in ``tests/conftest.py`` or
the test module), then ask for:

- ``starter_project_template``: (session) the pristine project made once per test session
  by the real ``kedro new --starter=azureml-mlflow --name demo``. Read it; never run or
  modify it.
- ``starter_project``: (function) a fresh copy of it in ``tmp_path / "demo"``, to run,
  edit or configure (e.g. write ``conf/local/azureml.yml``).

Kedro runs through ``tests.kedro_project.run_kedro``, like every other test's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kedro_project import run_kedro

STARTER_ALIAS = "azureml-mlflow"
PROJECT_NAME = "demo"


def create_starter_project(parent: Path, name: str = PROJECT_NAME) -> Path:
    """``kedro new --starter=azureml-mlflow --name <name>`` in ``parent``; the project dir."""
    run_kedro(["new", f"--starter={STARTER_ALIAS}", "--name", name], parent, check=True)
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
