"""Which runs share a tracking agent (its name) and what a run tells it of its project (``TargetSpec.in_project``).

One agent serves every project of a Python environment and user; a run whose tracking environment
differs gets another. The agent works in no project's folder, so each run's relative store paths and
SQL artifact root are made absolute against its own project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.pipeline_side.launcher import agent_environment, agent_name
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec, in_folder
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, write_new_key

A = Path("/work/projects/a")
B = Path("/work/projects/b")


def test_projects_of_one_environment_share_an_agent_even_with_kedro_s_src_on_the_pythonpath(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{A / 'src'}{os.pathsep}/opt/shared")
    named_in_a = agent_name(A, 600)
    monkeypatch.setenv("PYTHONPATH", f"{B / 'src'}{os.pathsep}/opt/shared")  # what Kedro does in project b
    assert agent_name(B, 600) == named_in_a
    assert agent_environment(B)["PYTHONPATH"] == "/opt/shared"  # the agent gets no project's source folder
    monkeypatch.setenv("PYTHONPATH", f"{B / 'src'}{os.pathsep}/opt/other")
    assert agent_name(B, 600) != named_in_a  # another PYTHONPATH of the user's own: another agent


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3"),
        ("AZURE_CLIENT_ID", "another-identity"),
        ("HTTPS_PROXY", "http://proxy:3128"),
        ("https_proxy", "http://proxy:3128"),  # requests reads the lower-case one too
        ("NO_PROXY", "localhost"),
        ("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem"),
        ("SSL_CERT_FILE", "/etc/ssl/corp.pem"),
        ("CURL_CA_BUNDLE", "/etc/ssl/corp.pem"),
    ],
)
def test_a_different_tracking_environment_gets_an_agent_of_its_own(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    before = agent_name(A, 600)
    monkeypatch.setenv(variable, value)
    assert agent_name(A, 600) != before


def test_without_reuse_every_run_gets_a_private_agent() -> None:
    assert agent_name(A, 0) != agent_name(A, 0)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlflow.db", f"sqlite:///{A}/mlflow.db"),
        ("sqlite:///data/mlflow.db?timeout=20", f"sqlite:///{A}/data/mlflow.db?timeout=20"),
        ("sqlite:////abs/mlflow.db", "sqlite:////abs/mlflow.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("file:mlruns", (A / "mlruns").as_uri()),
        ("file:///abs/mlruns", "file:///abs/mlruns"),
        ("http://host:5000", "http://host:5000"),
        ("postgresql://u@db/mlflow", "postgresql://u@db/mlflow"),
    ],
)
def test_relative_store_paths_are_read_against_the_project(uri: str, expected: str) -> None:
    assert in_folder(uri, A) == expected


def test_a_sql_store_gets_the_projects_mlruns_as_its_artifact_root() -> None:
    for uri in ("sqlite:///mlflow.db", "postgresql://u@db/mlflow"):
        assert TargetSpec(uri, "e", None, uri).in_project(B).artifact_root == (B / "mlruns").as_uri()
    for uri in ("http://host:5000", "file:mlruns"):
        assert TargetSpec(uri, "e", None, uri).in_project(B).artifact_root is None  # the server's, the store's
    workspace = TargetSpec(None, "e", None, "Azure ML ws", {"name": "ws"}).in_project(B)
    assert workspace.tracking_uri is None and workspace.artifact_root is None  # asked of the workspace later


def test_a_key_names_its_owner_and_an_older_plugins_key_still_reads(tmp_path: Path) -> None:
    endpoint = Endpoint(str(tmp_path / "a.sock"), tmp_path / "a.key")
    key = write_new_key(endpoint)
    assert endpoint.authkey() == key and endpoint.owner() == os.getpid()  # the starter, until the agent claims it

    endpoint.key_file.write_text(key.hex())  # as an older plugin wrote it: the key alone
    assert endpoint.authkey() == key and endpoint.owner() is None
