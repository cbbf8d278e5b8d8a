"""Secrets kept out of what submit builds and stages (a real wheel build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.bundle.build import package_project
from kedro_azureml_mlflow.core.errors import PluginError
from tests.planted_secrets import make_tree, reproduction
from tests.unit.test_snapshot_secrets import request_for

SECRET = "sk-X7f3c9a2e5b"
ENV_SECRET = "env-held-9d8c7b6a"

# Issue 11 item 1's reproduction, plus every other form named there.
SECRET_FILES = {
    **reproduction(SECRET),
    "conf/prod/credentials.yml": f"s3: {{secret: {SECRET}}}\n",
    "conf/prod/azure/credentials_blob.yaml": f"blob: {{key: {SECRET}}}\n",
    "conf/local/credentials.yml": f"db: {{password: {SECRET}}}\n",
    "secrets.yaml": f"k: {SECRET}\n",
    ".azure/msal_token_cache.json": f'{{"t": "{SECRET}"}}\n',
    ".ssh/config": f"IdentityFile {SECRET}\n",
    ".kube/config": f"token: {SECRET}\n",
    ".netrc": f"machine example.com login me password {SECRET}\n",
    ".pypirc": f"[pypi]\npassword = {SECRET}\n",
    ".git-credentials": f"https://me:{SECRET}@example.com\n",
    ".docker/config.json": f'{{"auths": {{"r": {{"auth": "{SECRET}"}}}}}}\n',
    ".kedro_azureml_mlflow/journal/run.jsonl": f'{{"params": [["token", "{SECRET}"]]}}\n',
}
CODE = {
    "pyproject.toml": '[tool.kedro]\npackage_name = "demo"\n',
    "requirements.txt": "kedro\n",
    "conf/base/catalog.yml": "companies: {type: pandas.CSVDataset, filepath: data/01_raw/companies.csv}\n",
    "conf/prod/parameters.yml": "model: {C: 1}\n",
    "src/demo/nodes.py": "def f():\n    return 1\n",
}
# An ignore file that tries to bring every secret back.
UNIGNORE_ALL = "\n".join(f"!{path}" for path in SECRET_FILES) + "\n!.aws/\n!.ssh/\n!secrets.*\n!conf/**\n"


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
