"""The double answers a sweep job's PUT and GET as Azure ML did in a recorded exchange: the recorded body is sent
again (ids and compute made the double's, the trial's code dropped and its script replaced by ``echo``) and the
answer compared where Azure fixes it.

Sources (public recordings made by the Azure SDK's own test suite of the live service), under
``python/sdk/ml/azure-ai-ml/tests/recordings/`` in Azure/azure-sdk-assets @ d0dbceadc6d23b9cced65d373038f0da5991672d
(azure-ai-ml 1.32.0, api 2024-01-01-preview, recorded 2026-03-03):

[W1] sweep_job/e2etests/test_sweep_job.pyTestSweepJobtest_sweep_job_await_completion.json: ``PUT jobs/<name>``
     of a random sweep (201 ``Running``, ``_aml_system_*`` tags, HyperDrive properties, normalised fields) and a
     GET 3 minutes later (still ``Running``, same body); and
     sweep_job/e2etests/test_sweep_job.pyTestSweepJobtest_sweep_job_submit.json: a ``TruncationSelection``
     ``earlyTermination`` as sent and as answered (policy config tag).

Nothing of a sweep's trials or end is recorded ([W1] ends while the sweep runs); the trials are tested with
the real SDK and the plugin in ``test_sweep_azure.py``.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from tests.azure.test_double_conformance_pipelines import call
from tests.waiting import wait_until

pytestmark = pytest.mark.azure

# [W1] the search space as sent (and as echoed)
RECORDED_SPACE = {
    "lr": ["uniform", [0.001, 0.1]],
    "conv_size": ["choice", [[2, 5, 7]]],
    "dropout_rate": ["uniform", [0.1, 0.5]],
}


def recorded_sweep(double: Any, **changes: Any) -> dict[str, Any]:
    """[W1]'s PUT body with the double's workspace; the trial echoes its values instead of running a script."""
    props = {
        "properties": {},
        "tags": {},
        "computeId": f"{double.workspace_scope}/computes/cpu-cluster",
        "displayName": "test_910316408761",
        "experimentName": "azure-ai-ml",
        "isArchived": False,
        "jobType": "Sweep",
        "inputs": {},
        "limits": {"jobLimitsType": "Sweep", "timeout": "PT5M", "maxConcurrentTrials": 10, "maxTotalTrials": 2},
        "objective": {"goal": "maximize", "primaryMetric": "accuracy"},
        "outputs": {},
        "samplingAlgorithm": {"samplingAlgorithmType": "Random"},
        "searchSpace": copy.deepcopy(RECORDED_SPACE),
        "trial": {
            "command": "echo --lr ${{search_space.lr}} --conv_size ${{search_space.conv_size}} "
            "--dropout_rate ${{search_space.dropout_rate}}",
            "environmentId": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
            "environmentVariables": {},
        },
        **changes,
    }
    return {"properties": props}


def test_sweep_put_answers_running_with_the_recorded_tags_and_normalised_fields(azureml_double) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    path = f"{azureml_double.workspace_scope}/jobs/{name}"
    answer = call(azureml_double, "PUT", path, recorded_sweep(azureml_double))
    assert answer.status_code == 201
    assert answer.headers["Location"].split("?")[0].endswith(path)
    body = answer.json()["properties"]
    assert body["status"] == "Running"  # [W1]: at once, not NotStarted as the spec example says
    tags = body["tags"]
    assert tags["_aml_system_max_concurrent_jobs"] == "10"
    assert tags["_aml_system_max_total_jobs"] == "2"
    assert tags["_aml_system_max_duration_minutes"] == "5"
    assert tags["_aml_system_policy_config"] == '{"name":"Default","properties":{}}'
    assert json.loads(tags["_aml_system_generator_config"]) == {
        "name": "RANDOM",
        "parameter_space": RECORDED_SPACE,
        "properties": {"rule": "Random", "logbase": None, "seed": None},
    }
    assert tags["_aml_system_primary_metric_config"] == '{"name":"accuracy","goal":"maximize"}'
    assert tags["_aml_system_resume_child_runs"] == "null"
    assert tags["_aml_system_cancellation_requested"] == "false"
    properties = body["properties"]
    assert properties["primary_metric_config"] == '{"name":"accuracy","goal":"maximize"}'
    assert {k: properties[k] for k in ("resume_from", "runTemplate", "azureml.runsource", "platform")} == {
        "resume_from": "null",
        "runTemplate": "HyperDrive",
        "azureml.runsource": "hyperdrive",
        "platform": "AML",
    }
    assert "ContentSnapshotId" in properties
    assert body["objective"] == {"primaryMetric": "accuracy", "goal": "Maximize"}
    assert body["samplingAlgorithm"] == {
        "samplingAlgorithmType": "Random",
        "seed": None,
        "logbase": None,
        "rule": "Random",
    }
    assert body["limits"] == {
        "timeout": "PT5M",
        "jobLimitsType": "Sweep",
        "maxTotalTrials": 2,
        "maxConcurrentTrials": 10,
        "trialTimeout": None,
    }
    assert body["earlyTermination"] is None
    assert body["searchSpace"] == RECORDED_SPACE
    trial = body["trial"]
    assert trial["environmentId"] == (
        f"{azureml_double.workspace_scope}/environments/AzureML-sklearn-1.0-ubuntu20.04-py38-cpu/versions/33"
    )
    assert trial["resources"]["shmSize"] == "2g" and trial["distribution"] is None
    assert list(body["services"]) == ["Studio"]
    assert body["outputs"]["default"]["uri"] == f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{name}"
    assert body["outputs"]["default"]["jobOutputType"] == "uri_folder"
    assert (body["identity"], body["componentId"], body["secretsConfiguration"]) == (None, None, None)
    got = call(azureml_double, "GET", path).json()["properties"]
    assert got["jobType"] == "Sweep" and got["searchSpace"] == RECORDED_SPACE


def test_a_sent_early_termination_is_echoed_and_named_in_the_policy_tag(azureml_double) -> None:
    """[W1] test_sweep_job_submit: TruncationSelection as sent comes back as sent, and in the policy config tag
    with ``exclude_finished_jobs: false`` added."""
    policy = {
        "delayEvaluation": 200,
        "evaluationInterval": 100,
        "policyType": "TruncationSelection",
        "truncationPercentage": 40,
    }
    name = f"test_{uuid.uuid4().hex[:12]}"
    body = recorded_sweep(azureml_double, earlyTermination=policy)
    answer = call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body).json()["properties"]
    assert answer["earlyTermination"] == policy
    assert json.loads(answer["tags"]["_aml_system_policy_config"]) == {
        "name": "TruncationSelection",
        "properties": {
            "evaluation_interval": 100,
            "delay_evaluation": 200,
            "truncation_percentage": 40,
            "exclude_finished_jobs": False,
        },
    }


def test_trials_take_their_values_and_the_sweep_counts_what_it_generated(azureml_double) -> None:
    """Not recorded ([W1] ends while running): each trial is a child of the sweep, at most maxTotalTrials."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    path = f"{azureml_double.workspace_scope}/jobs/{name}"
    call(azureml_double, "PUT", path, recorded_sweep(azureml_double))
    ended = wait_until(
        lambda: (got := call(azureml_double, "GET", path).json())["properties"]["status"] != "Running" and got,
        180,
        f"sweep {name} to end",
    )["properties"]
    # The echo trials log no metric: they complete, and no best is named.
    assert ended["status"] == "Completed" and "best_child_run_id" not in ended["properties"]
    assert ended["tags"]["_aml_system_samples_generated_count"] == "2"
    assert ended["tags"]["_aml_system_all_jobs_generated"] == "true"
    history = path.replace("/subscriptions/", "/history/v1.0/subscriptions/", 1)
    children = call(azureml_double, "GET", f"{history.rsplit('/jobs/', 1)[0]}/runs/{name}/children").json()["value"]
    assert [child["runId"] for child in children] == [f"{name}_0", f"{name}_1"]
    for child in children:
        assert child["parentRunId"] == name and child["status"] == "Completed"
        command = azureml_double.job_info(child["runId"])["command"]
        lr = float(command.split("--lr ")[1].split()[0])
        assert 0.001 <= lr <= 0.1 and command.split("--conv_size ")[1].split()[0] in {"2", "5", "7"}
        assert command.split("echo ", 1)[1] in azureml_double.job_log(child["runId"])  # what the trial ran with
    listed = [
        job["name"] for job in call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs").json()["value"]
    ]
    assert name in listed and f"{name}_0" not in listed
