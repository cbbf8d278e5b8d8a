"""Tokens that expire after three seconds: a tracked run and a followed job outlive several of them.

The double mints short-lived tokens and refuses expired ones with Azure's 401 (``token_expiry.py``).
azure-identity's credentials renew a token once it has expired (they would renew it 5 minutes ahead
of a real one), azure-core's bearer policy asks the credential before every request, and
azureml-mlflow asks it for every MLflow request: so nothing is refused and every token is renewed.
"""

from __future__ import annotations

import time

import pytest

from tests.azureml_double import AzureMLDouble, FakeTokenCredential
from tests.kedro_project import KedroProject, run_kedro

pytestmark = [pytest.mark.azure, pytest.mark.slow]

LIFETIME = 3
SLOW_REGISTRY = """
import time
from kedro.pipeline import Pipeline, node


def tick(index):
    time.sleep(1.0)  # the workload: the run must outlive the tokens it starts with
    return {"value": float(index)}


def register_pipelines():
    slow = Pipeline([node(tick, f"params:index_{i}", f"tick_{i}_metrics", name=f"tick{i}") for i in range(9)])
    return {"__default__": slow}
"""


@pytest.fixture
def short_tokens(azureml_double: AzureMLDouble) -> AzureMLDouble:
    azureml_double.settings(token_lifetime_seconds=LIFETIME, token_clock_skew_seconds=1)
    return azureml_double


def renewals(requests: list[dict]) -> int:
    """How many different tokens (told apart by their expiry) the requests were signed with, minus one."""
    return len({r["token_exp"] for r in requests if r["token_exp"] is not None}) - 1


def test_the_double_refuses_an_expired_token_as_azure_does(short_tokens: AzureMLDouble) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    expired = FakeTokenCredential(lifetime=-5)
    with pytest.raises(ClientAuthenticationError) as caught:
        short_tokens.ml_client(credential=expired).workspaces.get(short_tokens.workspace_name)
    assert caught.value.status_code == 401
    assert "ExpiredAuthenticationToken" in str(caught.value) or "earlier than current UTC time" in str(caught.value)
    assert short_tokens.ml_client(credential=FakeTokenCredential()).workspaces.get(short_tokens.workspace_name)


def test_a_credential_that_never_renews_its_token_is_refused_mid_run(short_tokens: AzureMLDouble) -> None:
    """The control: what the run below would meet if nothing renewed the token."""
    from azure.core.credentials import AccessToken
    from mlflow.exceptions import MlflowException

    from kedro_azureml_mlflow.tracking.client import client_ops
    from kedro_azureml_mlflow.tracking.plan.target import mlflow_client

    token = FakeTokenCredential(lifetime=LIFETIME).get_token("https://ml.azure.com/.default")

    class FrozenCredential:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return token

    workspace = _workspace(short_tokens, FrozenCredential())
    client = mlflow_client(short_tokens.tracking_uri, workspace)
    experiment = client.create_experiment(f"frozen-{time.time_ns()}")
    deadline = time.monotonic() + 30
    refused = None
    while refused is None and time.monotonic() < deadline:
        try:
            client.get_experiment(experiment)
        except MlflowException as exc:
            refused = exc
    assert refused is not None, "the double never refused the expired token"
    assert "earlier than current UTC time" in str(refused), str(refused)
    assert not client_ops.is_permanent(refused)  # journaled for `sync` after signing in again, not dropped


def _workspace(double: AzureMLDouble, credential: object) -> object:
    from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
    from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef
    from kedro_azureml_mlflow.settings.config import CredentialsConfig

    ref = WorkspaceRef(double.subscription_id, double.resource_group, double.workspace_name, "test")
    workspace = AzureWorkspace(ref, CredentialsConfig())
    workspace.__dict__["credential"] = credential  # the cached property, set as the one it would build
    return workspace


def test_a_run_longer_than_its_tokens_keeps_logging(project: KedroProject, short_tokens: AzureMLDouble) -> None:
    project.write("src/probe/pipeline_registry.py", SLOW_REGISTRY)
    project.write("conf/base/azureml.yml", "tracking:\n  experiment: outlives-tokens\n  flush_interval_seconds: 1\n")
    since = short_tokens.last_seq()
    started = time.monotonic()
    project.run(env=short_tokens.env())
    assert time.monotonic() - started > 3 * LIFETIME  # the run did outlive several tokens

    [run] = project.runs(uri=short_tokens.mlflow_url, experiment="outlives-tokens")
    assert run.info.status == "FINISHED"
    assert {f"tick_{i}_metrics.value" for i in range(9)} <= set(run.data.metrics)
    assert not (project.path / ".kedro_azureml_mlflow" / "journal").exists()
    mlflow_calls = short_tokens.mlflow_requests(since)
    assert [r for r in mlflow_calls if r["status"] == 401] == []
    assert renewals(mlflow_calls) >= 2


def test_a_followed_job_keeps_streaming_past_its_tokens(project: KedroProject, short_tokens: AzureMLDouble) -> None:
    project.write("src/probe/pipeline_registry.py", SLOW_REGISTRY)
    project.write("requirements.txt", "kedro\n")  # what the emulated compute's environment has
    since = short_tokens.last_seq()
    result = run_kedro(
        ["azureml", "submit", "--compute", "cpu-cluster", "--wait", "--stream"],
        cwd=project.path,
        extra_env=short_tokens.client_env(),
        timeout=400,
        check=True,
    )
    output = result.stdout + result.stderr
    assert "completed" in output and "Pipeline execution completed" in output, output[-3000:]
    followed = [r for r in short_tokens.requests(since) if "/runs/" in r["path"] or "/jobs/" in r["path"]]
    assert [r for r in short_tokens.requests(since) if r["status"] == 401] == []
    assert renewals(followed) >= 2
