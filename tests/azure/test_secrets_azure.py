"""Secrets planted in parameters (flat and nested) and ``--params`` of a run tracked to an Azure ML
workspace: not in any request the double received (paths, headers, bodies), not in its MLflow store
or Azurite's blobs, not in the run's output.

A submitted job's snapshot: credentials planted in each file form Kedro and common tools read, not
in any upload, blob or request, nor in the job's scratch folder. The URI-password and local-store
parts are in ``test_hardening_cli.py``; the staged snapshot's unit tests are ``test_snapshot_secrets.py``
(data room); keeping the URI's password out of the journal's header is the journal room's.
"""

from __future__ import annotations

import json

import pytest

from tests.azureml_double import AzureMLDouble
from tests.e2e.test_hardening_cli import CLI_SECRET, SECRET_PARAMS, found_in
from tests.kedro_project import KedroProject, run_kedro

pytestmark = [pytest.mark.azure, pytest.mark.slow]

PLANTED = ("sk-planted-nested-1111", "sk-planted-flat-2222", "sk-planted-deep-3333", CLI_SECRET)


def test_planted_secrets_reach_nothing_the_workspace_received(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    azureml_double.settings(record_bodies=True)
    project.write("conf/base/parameters_secrets.yml", SECRET_PARAMS)
    # A loaded machine can take longer than the default 30 s to start the agent (importing the Azure SDK):
    # the run is then journaled, by design, and the double receives nothing to search. The end waits
    # only as long as tracking needs, so a long budget costs nothing when the machine is quick.
    project.write("conf/base/azureml.yml", "tracking:\n  experiment: planted-secrets\n  max_wait_seconds: 600\n")
    since = azureml_double.last_seq()
    result = project.run("--params", f"cli_token={CLI_SECRET}", env=azureml_double.env())

    sent = json.dumps(azureml_double.requests(since))
    assert "db.example" in sent and "<redacted>" in sent  # the bodies are really there to search
    assert [needle for needle in PLANTED if needle in sent] == []
    assert found_in(azureml_double.workdir, PLANTED) == {}  # its MLflow store, Azurite's blobs, its logs
    assert [needle for needle in PLANTED if needle in result.stdout + result.stderr] == []
    [run] = project.runs(uri=azureml_double.mlflow_url, experiment="planted-secrets")
    assert run.data.params["db.password"] == "<redacted>" and run.data.params["cli_token"] == "<redacted>"


CREDENTIAL_FILES = {  # the forms issue 11 lists; each holds one planted value
    "conf/base/credentials/db.yml": "y: {t: sk-planted-credfolder-6666}\n",
    "conf/base/credentials.json": '{"z": {"t": "sk-planted-credjson-7777"}}\n',
    "conf/local/credentials.yml": "w: {t: sk-planted-credyml-8888}\n",
    "secrets.json": '{"k": "sk-planted-secretsjson-9999"}\n',
    ".aws/credentials": "[default]\nkey=sk-planted-aws-1010\n",
    ".netrc": "machine h login u password sk-planted-netrc-1212\n",
}
CREDENTIALS = (
    "sk-planted-credfolder-6666",
    "sk-planted-credjson-7777",
    "sk-planted-credyml-8888",
    "sk-planted-secretsjson-9999",
    "sk-planted-aws-1010",
    "sk-planted-netrc-1212",
)


def test_credentials_files_reach_nothing_a_submitted_job_uploaded(
    project: KedroProject, azureml_double: AzureMLDouble
) -> None:
    azureml_double.settings(record_bodies=True)
    for relative, text in CREDENTIAL_FILES.items():
        project.write(relative, text)
    project.write("requirements.txt", "kedro\n")  # what the emulated compute's environment has
    since = azureml_double.last_seq()
    result = run_kedro(
        ["azureml", "submit", "--compute", "cpu-cluster", "--wait", "--no-stream"],
        cwd=project.path,
        env=azureml_double.client_env(),
        check=True,
    )
    sent = json.dumps(azureml_double.requests(since))
    assert "startPendingUpload" in sent and "/jobs/" in sent  # the upload and the job really are in the log
    assert [needle for needle in CREDENTIALS if needle in sent] == []
    assert found_in(azureml_double.workdir, CREDENTIALS) == {}  # Azurite's blobs, the job's scratch, the store
    assert [needle for needle in CREDENTIALS if needle in result.stdout + result.stderr] == []
