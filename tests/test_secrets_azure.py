"""Secrets planted in parameters (flat and nested) and ``--params`` of a run tracked to an Azure ML
workspace: not in any request the double received (paths, headers, bodies), not in its MLflow store
or Azurite's blobs, not in the run's output.

The URI-password and local-store parts are in ``test_hardening_cli.py``; the snapshot (credentials
files uploaded by ``submit``) and the journal's header are the data and journal rooms' tests.
"""

from __future__ import annotations

import json

import pytest

from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KedroProject
from tests.test_hardening_cli import CLI_SECRET, SECRET_PARAMS, found_in

pytestmark = [pytest.mark.azure, pytest.mark.slow]

PLANTED = ("sk-planted-nested-1111", "sk-planted-flat-2222", "sk-planted-deep-3333", CLI_SECRET)


def test_planted_secrets_reach_nothing_the_workspace_received(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    azureml_double.settings(record_bodies=True)
    project.write("conf/base/parameters_secrets.yml", SECRET_PARAMS)
    project.write("conf/base/azureml.yml", "tracking:\n  experiment: planted-secrets\n")
    since = azureml_double.last_seq()
    result = project.run("--params", f"cli_token={CLI_SECRET}", env=azureml_double.env())

    sent = json.dumps(azureml_double.requests(since))
    assert "db.example" in sent and "<redacted>" in sent  # the bodies are really there to search
    assert [needle for needle in PLANTED if needle in sent] == []
    assert found_in(azureml_double.workdir, PLANTED) == {}  # its MLflow store, Azurite's blobs, its logs
    assert [needle for needle in PLANTED if needle in result.stdout + result.stderr] == []
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="planted-secrets")
    assert run.data.params["db.password"] == "<redacted>" and run.data.params["cli_token"] == "<redacted>"
