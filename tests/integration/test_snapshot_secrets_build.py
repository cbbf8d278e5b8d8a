"""Secrets kept out of what submit builds and stages (a real wheel build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.bundle.build import package_project
from kedro_azureml_mlflow.core.errors import PluginError
from tests.planted_secrets import make_tree
from tests.unit.test_snapshot_secrets import CODE, SECRET, SECRET_FILES, request_for


@pytest.mark.slow
def test_planted_secrets_are_found_nowhere_in_the_staged_snapshot(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project", {**SECRET_FILES, **CODE})
    package = package_project(request_for(root), tmp_path / "staging")
    staged = [p for p in package.staging.rglob("*") if p.is_file()]
    assert {"conf/base/catalog.yml", "src/demo/nodes.py", "MLproject"} <= {
        p.relative_to(package.staging).as_posix() for p in staged
    }
    holding = [p for p in staged if SECRET.encode() in p.read_bytes()]
    assert holding == []


def test_params_holding_a_credentials_value_are_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project", {**SECRET_FILES, **CODE})
    with pytest.raises(PluginError, match=r"^MLproject: would hold the value of ") as raised:
        package_project(request_for(root, params=f"api.token={SECRET}"), tmp_path / "staging", list_only=True)
    assert SECRET not in raised.value.message
