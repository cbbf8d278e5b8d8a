"""The files around the code agree with each other: one version, one ruff, one licence."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import tomllib
import yaml

import kedro_azureml_mlflow

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _pinned(package: str) -> str:
    pins = [req for req in PYPROJECT["project"]["optional-dependencies"]["test"] if req.startswith(f"{package}==")]
    assert len(pins) == 1, f"{package} must be pinned (==) once in the test extra"
    return pins[0].split("==")[1]


def test_the_version_is_written_in_one_place() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "kedro_azureml_mlflow/__init__.py"
    assert importlib.metadata.version("kedro-azureml-mlflow") == kedro_azureml_mlflow.__version__


def test_pre_commit_runs_the_ruff_the_gates_run() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    [ruff] = [repo for repo in config["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert ruff["rev"] == f"v{_pinned('ruff')}"
    assert {hook["id"] for hook in ruff["hooks"]} == {"ruff-check", "ruff-format"}
    local = [hook["entry"] for repo in config["repos"] if repo["repo"] == "local" for hook in repo["hooks"]]
    assert ".venv/bin/mypy" in local


def test_licence_is_the_apache_2_text_pyproject_declares() -> None:
    text = (REPO / "LICENSE").read_text()
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_has_a_section_for_this_version_or_unreleased() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings[0] == "Unreleased" or headings[0] == kedro_azureml_mlflow.__version__
    assert kedro_azureml_mlflow.__version__ in headings
