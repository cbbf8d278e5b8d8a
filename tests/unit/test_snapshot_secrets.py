"""Credentials never reach the snapshot: not as files (every source Kedro reads, the usual secret
files of tools, the plugin's journal) and not as values pasted into other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.bundle.build import PackageRequest, package_project
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.bundle.secrets import credential_values
from kedro_azureml_mlflow.bundle.snapshot import select_files
from kedro_azureml_mlflow.core.errors import PluginError
from tests.planted_secrets import make_tree, reproduction

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


def request_for(root: Path, **run: str) -> PackageRequest:
    return PackageRequest(project_path=root, name="demo", run=RunArguments(**run), exclude_data=False)


@pytest.mark.parametrize("ignore_file", [None, ".gitignore", ".amlignore"])
def test_no_credentials_file_is_selected_whatever_the_ignore_file_says(tmp_path: Path, ignore_file: str | None) -> None:
    make_tree(tmp_path, {**SECRET_FILES, **CODE})
    if ignore_file:
        (tmp_path / ignore_file).write_text(UNIGNORE_ALL)
    files = {str(f.path) for f in select_files(tmp_path, exclude_data=False)}
    assert not files & set(SECRET_FILES), files & set(SECRET_FILES)
    assert set(CODE) <= files


def test_the_config_loaders_own_credentials_patterns_are_excluded_too(tmp_path: Path) -> None:
    make_tree(tmp_path, {**CODE, "conf/base/vault_db.yml": f"db: {{password: {SECRET}}}\n"})
    assert "conf/base/vault_db.yml" in {str(f.path) for f in select_files(tmp_path)}
    files = {str(f.path) for f in select_files(tmp_path, credentials_patterns=("vault*",))}
    assert "conf/base/vault_db.yml" not in files and "conf/base/catalog.yml" in files


def test_every_credentials_value_of_every_env_is_collected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_TOKEN", ENV_SECRET)
    make_tree(
        tmp_path,
        {
            **SECRET_FILES,
            "conf/staging/credentials.yml": "api: {token: '${oc.env:DB_TOKEN}', port: 5432, user: admin}\n",
        },
    )
    found = {(s.value.decode(), s.source, s.key) for s in credential_values(tmp_path, "conf")}
    assert {value for value, _, _ in found} == {SECRET, ENV_SECRET}  # short and non-string values are not secrets
    assert (ENV_SECRET, "conf/staging/credentials.yml", "api.token") in found
    sources = {source for _, source, _ in found if source != "conf/staging/credentials.yml"}
    assert sources <= {"conf/base/credentials/db.yml", "conf/base/credentials.json", "conf/prod/credentials.yml"}


@pytest.mark.parametrize(
    ("leak", "name"),
    [
        ({"notebooks/explore.ipynb": f'{{"source": ["token = \\"{SECRET}\\""]}}'}, "notebooks/explore.ipynb"),
        ({"conf/base/parameters.yml": f"api_key: {SECRET}\n"}, "conf/base/parameters.yml"),
    ],
    ids=["notebook", "parameters"],
)
def test_a_file_holding_a_credentials_value_is_refused_by_name(tmp_path: Path, leak: dict[str, str], name: str) -> None:
    root = make_tree(tmp_path / "project", {**SECRET_FILES, **CODE, **leak})
    with pytest.raises(PluginError) as raised:
        package_project(request_for(root), tmp_path / "staging", list_only=True)
    message = raised.value.message
    assert message.startswith(f"{name}: holds the value of ")
    assert SECRET not in message
    assert not (tmp_path / "staging").exists(), "refused before anything was staged"


def test_an_unreadable_credentials_file_stops_packaging(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project", {**CODE, "conf/local/credentials.yml": "db: [unclosed\n"})
    with pytest.raises(PluginError, match=r"^conf/local/credentials.yml: cannot read this credentials file"):
        package_project(request_for(root), tmp_path / "staging", list_only=True)


def test_a_value_across_two_read_chunks_is_found(tmp_path: Path) -> None:
    from kedro_azureml_mlflow.bundle.secrets import SCAN_CHUNK

    root = make_tree(tmp_path / "project", {**SECRET_FILES, **CODE})
    data = bytearray(b"x" * (2 * SCAN_CHUNK))
    start = SCAN_CHUNK - 4  # the value starts in the first chunk and ends in the second
    data[start : start + len(SECRET)] = SECRET.encode()
    (root / "data.bin").write_bytes(bytes(data))
    with pytest.raises(PluginError, match=r"^data.bin: holds the value of "):
        package_project(request_for(root), tmp_path / "staging", list_only=True)
