"""The local Azure ML double works with the real, unmodified SDK clients.

These tests prove the test double itself; end-to-end tests of the plugin build on the same fixtures
(``azureml_double``, see ``tests/azureml_double/__init__.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.waiting import wait_until

pytestmark = pytest.mark.azure


def _code_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    for name, text in files.items():
        (code / name).write_text(textwrap.dedent(text))
    return code


def _command_job(code: Path, cmd: str, **kwargs):
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment

    kwargs.setdefault("environment", Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"))
    kwargs.setdefault("compute", "cpu-cluster")
    return command(code=str(code), command=cmd, **kwargs)


def _mlflow_get(double, endpoint: str, **query) -> dict:
    """Read straight from the real mlflow server behind the double (plain http, no azureml-mlflow)."""
    qs = urllib.parse.urlencode(query)
    with urllib.request.urlopen(f"{double.mlflow_url}/api/2.0/mlflow/{endpoint}?{qs}", timeout=10) as resp:
        return json.loads(resp.read())


# ------------------------------------------------------------------------------------------ control plane


def test_workspace_reports_azureml_tracking_uri(azureml_double):
    ml_client = azureml_double.ml_client()

    ws = ml_client.workspaces.get(azureml_double.workspace_name)

    assert ws.mlflow_tracking_uri == azureml_double.tracking_uri
    assert ws.mlflow_tracking_uri.startswith("azureml://127.0.0.1:")
    assert ws.mlflow_tracking_uri.endswith(
        f"/mlflow/v2.0/subscriptions/{azureml_double.subscription_id}/resourceGroups/"
        f"{azureml_double.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/"
        f"{azureml_double.workspace_name}"
    )
    (call,) = azureml_double.requests(method="GET", path_contains="/workspaces/")
    assert call["status"] == 200
    assert call["aud"] == "https://management.azure.com"  # the fake credential's JWT, aud = requested scope


def test_unknown_compute_and_workspace_are_azure_shaped_404s(azureml_double):
    from azure.core.exceptions import ResourceNotFoundError

    ml_client = azureml_double.ml_client()

    with pytest.raises(ResourceNotFoundError) as err:
        ml_client.compute.get("no-such-cluster")
    assert "ResourceNotFound" in str(err.value)
    assert "computes/no-such-cluster" in str(err.value)
    assert ml_client.compute.get("cpu-cluster").name == "cpu-cluster"
    assert {c.name for c in ml_client.compute.list()} >= {"cpu-cluster"}

    with pytest.raises(ResourceNotFoundError) as err:
        ml_client.workspaces.get("no-such-workspace")
    assert "workspaces/no-such-workspace" in str(err.value)


def test_error_body_shape_over_plain_https(azureml_double):
    import requests

    resp = requests.get(
        f"{azureml_double.workspace_url}/computes/nope?api-version=2024-10-01",
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )  # REQUESTS_CA_BUNDLE (set by the session fixture) makes the test CA trusted
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "ResourceNotFound"
    assert set(resp.json()["error"]) >= {"code", "message"}
    assert requests.get(f"{azureml_double.workspace_url}/computes", timeout=10).status_code == 401


# ------------------------------------------------------------------------------------------ emulated compute


def test_command_job_uploads_code_to_azurite_and_runs_to_completion(azureml_double, tmp_path):
    code = _code_dir(
        tmp_path,
        {
            "hello.py": """
        import os, sys
        print("hello from the emulated compute", sys.argv[1:])
        print("RUN", os.environ["AZUREML_RUN_ID"], os.environ["MLFLOW_RUN_ID"])
        print("WS", os.environ["AZUREML_ARM_WORKSPACE_NAME"], os.environ["MY_FLAG"])
    """
        },
    )
    ml_client = azureml_double.ml_client()
    job = _command_job(
        code,
        "python hello.py ${{inputs.greeting}}",
        inputs={"greeting": "bonjour"},
        environment_variables={"MY_FLAG": "on"},
        experiment_name="double-completes",
    )

    created = ml_client.jobs.create_or_update(job)

    assert created.status == "Starting"  # as Azure answers the PUT
    info = azureml_double.wait_for_job(created.name)
    assert info["status"] == "Completed", azureml_double.job_log(created.name)
    assert ml_client.jobs.get(created.name).status == "Completed"
    log = azureml_double.job_log(created.name)
    assert "hello from the emulated compute ['bonjour']" in log
    assert f"RUN {created.name} {created.name}" in log  # like Azure ML: MLflow run id == job name
    assert f"WS {azureml_double.workspace_name} on" in log
    assert "CliV2AnonymousEnvironment" in info["environment_id"]  # recorded, not built

    # the snapshot really went through Azurite: find hello.py among the uploaded blobs
    blobs = [
        b.name
        for c in azureml_double.blob_service().list_containers(name_starts_with="code-")
        for b in azureml_double.blob_service().get_container_client(c.name).list_blobs()
    ]
    assert any(name.endswith(f"{code.name}/hello.py") for name in blobs), blobs
    calls = [(r["method"], r["path"].rsplit("/", 2)[-2:]) for r in azureml_double.requests()]
    assert ("POST", ["1", "startPendingUpload"]) in calls

    # the job's MLflow run was created in the job's experiment and ended FINISHED
    run = _mlflow_get(azureml_double, "runs/get", run_id=created.name)["run"]
    exp = _mlflow_get(azureml_double, "experiments/get", experiment_id=run["info"]["experiment_id"])
    assert exp["experiment"]["name"] == "double-completes"
    assert run["info"]["status"] == "FINISHED"


def test_resubmitting_same_code_is_deduplicated(azureml_double, tmp_path):
    code = _code_dir(tmp_path, {"main.py": "print('same code')\n"})
    ml_client = azureml_double.ml_client()

    first = ml_client.jobs.create_or_update(_command_job(code, "python main.py"))
    second = ml_client.jobs.create_or_update(_command_job(code, "python main.py"))

    assert len(azureml_double.requests(path_contains="startPendingUpload")) == 1
    for job in (first, second):
        assert azureml_double.wait_for_job(job.name)["status"] == "Completed"


def test_cancel_kills_the_sleeping_job(azureml_double, tmp_path):
    code = _code_dir(tmp_path, {"sleepy.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"})
    ml_client = azureml_double.ml_client()
    created = ml_client.jobs.create_or_update(_command_job(code, "python sleepy.py"))
    info = azureml_double.wait_for_job(created.name, statuses=("Running",))
    pid = info["pid"]
    wait_until(lambda: "sleeping" in azureml_double.job_log(created.name), timeout=30, what="the job's first line")

    # Azure's cancel operation sends no Retry-After: the SDK would poll it after its default 30 s.
    ml_client.jobs.begin_cancel(created.name, polling_interval=0.5).result()

    assert ml_client.jobs.get(created.name).status == "Canceled"
    info = azureml_double.job_info(created.name)
    assert info["process_alive"] is False
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole process group is gone
    run = _mlflow_get(azureml_double, "runs/get", run_id=created.name)["run"]
    assert run["info"]["status"] == "KILLED"


def test_failing_job_and_forced_failure(azureml_double, tmp_path):
    from azure.ai.ml.exceptions import JobException

    code = _code_dir(tmp_path, {"boom.py": "raise SystemExit('boom: exiting with 3') if False else exit(3)\n"})
    ml_client = azureml_double.ml_client()

    failed = ml_client.jobs.create_or_update(_command_job(code, "python boom.py"))
    assert azureml_double.wait_for_job(failed.name)["exit_code"] == 3
    assert ml_client.jobs.get(failed.name).status == "Failed"
    assert _mlflow_get(azureml_double, "runs/get", run_id=failed.name)["run"]["info"]["status"] == "FAILED"
    with pytest.raises(JobException):
        ml_client.jobs.stream(failed.name)

    azureml_double.fail_next_job(message="quota exceeded (injected)")
    forced = ml_client.jobs.create_or_update(_command_job(code, "echo never printed"))
    info = azureml_double.wait_for_job(forced.name)
    assert info["status"] == "Failed"
    assert info["error"]["error"]["message"] == "quota exceeded (injected)"
    assert "never printed" not in azureml_double.job_log(forced.name)


def test_job_using_mlflow_logs_into_the_run_the_double_created(azureml_double, tmp_path):
    code = _code_dir(
        tmp_path,
        {
            "train.py": """
        import os
        import mlflow

        # Inside an Azure ML job: tracking URI (azureml://), run id, experiment and token come from the env.
        expected = os.environ["MLFLOW_RUN_ID"]
        with mlflow.start_run() as run:
            assert run.info.run_id == expected, run.info.run_id
            mlflow.log_param("alpha", "0.5")
            mlflow.log_metric("accuracy", 0.93)
        print("logged into", run.info.run_id, mlflow.get_tracking_uri())
    """
        },
    )
    ml_client = azureml_double.ml_client()
    created = ml_client.jobs.create_or_update(
        _command_job(code, "python train.py", experiment_name="double-mlflow-in-job")
    )

    info = azureml_double.wait_for_job(created.name, timeout=120)

    assert info["status"] == "Completed", azureml_double.job_log(created.name)
    assert "logged into " + created.name + " azureml://127.0.0.1:" in azureml_double.job_log(created.name)
    run = _mlflow_get(azureml_double, "runs/get", run_id=info["mlflow_run_id"])["run"]
    assert {m["key"]: m["value"] for m in run["data"]["metrics"]} == {"accuracy": 0.93}
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"alpha": "0.5"}
    assert run["info"]["status"] == "FINISHED"
    mlflow_calls = azureml_double.mlflow_requests()
    assert mlflow_calls and all(r["path"].startswith(azureml_double.mlflow_prefix) for r in mlflow_calls)


# ------------------------------------------------------------------------------------------ MLflow via azureml://


def test_azureml_mlflow_client_in_process_lands_in_real_mlflow_server(azureml_double):
    import mlflow
    from mlflow.tracking import MlflowClient

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(azureml_double.tracking_uri)
    try:
        client = MlflowClient()
        name = f"double-in-process-{uuid.uuid4().hex[:6]}"
        exp_id = client.create_experiment(name)
        run = client.create_run(exp_id)
        client.log_batch(
            run.info.run_id,
            metrics=[mlflow.entities.Metric("loss", 0.25, 0, 0)],
            params=[mlflow.entities.Param("lr", "0.01")],
        )
        client.set_terminated(run.info.run_id)
    finally:
        mlflow.set_tracking_uri(previous)

    stored = _mlflow_get(azureml_double, "runs/get", run_id=run.info.run_id)["run"]
    assert stored["data"]["metrics"][0]["key"] == "loss"
    assert stored["info"]["status"] == "FINISHED"
    calls = azureml_double.mlflow_requests()
    paths = [r["path"] for r in calls]
    assert f"{azureml_double.mlflow_prefix}/api/2.0/mlflow/runs/log-batch" in paths
    assert f"{azureml_double.mlflow_prefix}/api/2.0/mlflow/experiments/create" in paths


def test_mlflow_down_fault(azureml_double):
    import requests

    url = f"{azureml_double.base_url}{azureml_double.mlflow_prefix}/api/2.0/mlflow/experiments/search"
    headers = {"Authorization": "Bearer x"}
    azureml_double.mlflow_down(seconds=0.5)
    assert requests.post(url, json={"max_results": 1}, headers=headers, timeout=10).status_code == 503
    wait_until(
        lambda: requests.post(url, json={"max_results": 1}, headers=headers, timeout=10).status_code == 200,
        timeout=10,
        what="the end of the 0.5 s outage",
    )

    azureml_double.mlflow_down(mode="reset")  # until cleared
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"max_results": 1}, headers=headers, timeout=10)
    azureml_double.clear_faults()
    assert requests.post(url, json={"max_results": 1}, headers=headers, timeout=10).status_code == 200


# ------------------------------------------------------------------------------------------ faults / retries


@pytest.mark.parametrize("status", [429, 500])
def test_throttling_and_server_errors_are_retried_by_the_sdk(azureml_double, status):
    ml_client = azureml_double.ml_client()
    azureml_double.inject_http_fault(r"/computes/cpu-cluster$", status=status, count=2, retry_after=0)

    assert ml_client.compute.get("cpu-cluster").name == "cpu-cluster"

    calls = azureml_double.requests(path_contains="/computes/cpu-cluster")
    assert [r["status"] for r in calls] == [status, status, 200]
    assert calls[0]["fault"] == f"http {status}"
    assert azureml_double.faults()["http"][0]["count"] == 0


def test_429_on_mlflow_is_retried_by_azureml_mlflow(azureml_double):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=azureml_double.tracking_uri)
    azureml_double.inject_http_fault(r"/api/2\.0/mlflow/experiments/create$", status=429, count=1, retry_after=0)

    exp_id = client.create_experiment(f"double-throttled-{uuid.uuid4().hex[:6]}")

    assert exp_id
    statuses = [r["status"] for r in azureml_double.requests(path_contains="/experiments/create")]
    assert statuses == [429, 200]


# ------------------------------------------------------------------------------------------ subprocesses


@pytest.mark.parametrize("auth", ["managed_identity", "client_secret"])
def test_env_only_subprocess_reaches_the_double(azureml_double, auth):
    script = textwrap.dedent("""
        import os
        from azure.identity import DefaultAzureCredential
        from azure.ai.ml import MLClient

        ml_client = MLClient(DefaultAzureCredential(), os.environ["AZUREML_SUBSCRIPTION_ID"],
                             os.environ["AZUREML_RESOURCE_GROUP"], os.environ["AZUREML_WORKSPACE_NAME"])
        print("URI", ml_client.workspaces.get(os.environ["AZUREML_WORKSPACE_NAME"]).mlflow_tracking_uri)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=azureml_double.env(auth=auth), capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"URI {azureml_double.tracking_uri}" in proc.stdout
    token_calls = azureml_double.requests(path_contains="/token")
    assert token_calls and token_calls[0]["status"] == 200
    (ws_call,) = azureml_double.requests(method="GET", path_contains="/workspaces/")
    assert ws_call["aud"] == "https://management.azure.com"


def test_env_only_subprocess_mlflow_via_azureml_uri(azureml_double):
    script = textwrap.dedent("""
        import sys
        import mlflow

        mlflow.set_tracking_uri(sys.argv[1])
        mlflow.set_experiment("double-subprocess")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 2.0)
        print("RUN", run.info.run_id)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script, azureml_double.tracking_uri],
        env=azureml_double.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    run_id = proc.stdout.split("RUN ")[1].strip()
    run = _mlflow_get(azureml_double, "runs/get", run_id=run_id)["run"]
    assert run["data"]["metrics"][0]["value"] == 2.0


def test_artifacts_through_azureml_uri_land_in_azurite(azureml_double, tmp_path):
    script = textwrap.dedent("""
        import os, sys, tempfile
        import mlflow

        mlflow.set_tracking_uri(sys.argv[1])
        mlflow.set_experiment("double-artifacts")
        with mlflow.start_run() as run:
            path = os.path.join(tempfile.mkdtemp(), "report.txt")
            open(path, "w").write("hello artifact")
            mlflow.log_artifact(path)
            mlflow.log_dict({"a": 1}, "nested/data.json")
        client = mlflow.MlflowClient()
        print("ROOT", sorted(f.path for f in client.list_artifacts(run.info.run_id)))
        print("BACK", open(mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                               artifact_path="report.txt")).read())
        print("URI", run.info.artifact_uri)
        print("RUN", run.info.run_id)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script, azureml_double.tracking_uri],
        env=azureml_double.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ROOT ['nested', 'report.txt']" in proc.stdout
    assert "BACK hello artifact" in proc.stdout
    run_id = proc.stdout.split("RUN ")[1].strip()
    assert f"URI {azureml_double.tracking_uri}/experiments/" in proc.stdout  # Azure ML's artifact URI shape
    blobs = {
        b.name
        for b in azureml_double.blob_service()
        .get_container_client("azureml")
        .list_blobs(name_starts_with=f"ExperimentRun/dcid.{run_id}/")
    }
    assert blobs == {f"ExperimentRun/dcid.{run_id}/report.txt", f"ExperimentRun/dcid.{run_id}/nested/data.json"}


def test_azure_mlflow_limits_are_enforced(azureml_double):
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=azureml_double.tracking_uri)
    exp_id = client.create_experiment(f"double-limits-{uuid.uuid4().hex[:6]}")
    run_id = client.create_run(exp_id).info.run_id
    metrics = [Metric("m", float(i), 0, i) for i in range(251)]

    with pytest.raises(MlflowException, match="at most 250 metrics"):
        client.log_batch(run_id, metrics=metrics)
    client.log_batch(run_id, metrics=metrics[:250])
    client.log_batch(run_id, params=[Param(f"p{i}", "v") for i in range(100)])
    client.log_batch(run_id, params=[Param(f"p{i}", "v") for i in range(100, 200)])
    with pytest.raises(MlflowException, match="at most 200 parameters"):
        client.log_batch(run_id, params=[Param("one-too-many", "v")])
    with pytest.raises(MlflowException, match="Ordering runs by metrics"):
        client.search_runs([exp_id], order_by=["metrics.m DESC"])
    with pytest.raises(MlflowException, match="OR is not supported"):
        client.search_runs([exp_id], filter_string="params.p1 = 'v' OR params.p2 = 'v'")

    azureml_double.settings(azure_limits=False)
    client.log_batch(run_id, metrics=metrics)
    assert client.search_runs([exp_id], order_by=["metrics.m DESC"])


def test_registered_environments_versions_latest_and_jobs_list(azureml_double, tmp_path):
    from azure.ai.ml.entities import Environment
    from azure.core.exceptions import ResourceNotFoundError

    ml_client = azureml_double.ml_client()
    name = f"double-env-{uuid.uuid4().hex[:6]}"
    for version in ("1", "2"):
        ml_client.environments.create_or_update(
            Environment(name=name, version=version, image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04")
        )

    assert ml_client.environments.get(name, version="1").version == "1"
    assert ml_client.environments.get(name, label="latest").version == "2"
    assert sorted(e.version for e in ml_client.environments.list(name=name)) == ["1", "2"]
    with pytest.raises(ResourceNotFoundError):
        ml_client.environments.get(f"{name}-missing", version="1")

    code = _code_dir(tmp_path, {"main.py": "print('registered env')\n"})
    job = ml_client.jobs.create_or_update(_command_job(code, "python main.py", environment=f"azureml:{name}:1"))
    info = azureml_double.wait_for_job(job.name)
    assert info["status"] == "Completed"
    assert info["environment_id"].endswith(f"/environments/{name}/versions/1")
    assert job.name in {j.name for j in ml_client.jobs.list()}


def test_missing_azurite_is_a_clear_error(tmp_path, monkeypatch):
    from tests.azureml_double import launcher

    monkeypatch.setattr(launcher, "AZURITE_MAIN", tmp_path / "node_modules" / "azurite" / "main.js")

    with pytest.raises(launcher.DoubleStartError, match="Run `npm ci`"):
        launcher.AzureMLDouble(tmp_path / "double").start()
