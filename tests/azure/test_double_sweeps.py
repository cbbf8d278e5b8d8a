"""The double's sweep jobs, through raw REST: grid sampling gives every combination once, random sampling draws
from the distributions, ``maxTotalTrials`` and ``maxConcurrentTrials`` hold (observed from the trials' own start and
end times and values, not from the double's counters), the best trial is the one whose run logged the best value,
and a grid over a non-``choice`` distribution is refused at PUT."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.azure.test_double_conformance_pipelines import call
from tests.azure.test_double_conformance_sweeps import recorded_sweep
from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]

# Each trial logs its values' sum to its own run (the job's MLFLOW_RUN_ID), as a trial's script would.
LOG_SCORE = (
    "python -c \"import mlflow; mlflow.start_run(); mlflow.log_metric('score', {a} + {b}); mlflow.end_run()\" "
    "&& sleep 1"
)


def run_sweep(double: Any, **changes: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """PUT a sweep, wait for its end; the ended sweep and its trials as run history lists them."""
    name = f"sweep_{uuid.uuid4().hex[:10]}"
    path = f"{double.workspace_scope}/jobs/{name}"
    answer = call(double, "PUT", path, recorded_sweep(double, **changes))
    assert answer.status_code == 201, answer.text
    ended = wait_until(
        lambda: (got := call(double, "GET", path).json())["properties"]["status"] != "Running" and got,
        300,
        f"sweep {name} to end",
    )
    history = double.workspace_scope.replace("/subscriptions/", "/history/v1.0/subscriptions/", 1)
    children = call(double, "GET", f"{history}/runs/{name}/children").json()["value"]
    return ended, children


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def most_at_once(children: list[dict[str, Any]]) -> int:
    """The largest number of trials whose [start, end] intervals overlap at one instant."""
    events = sorted(
        [(_time(c["startTimeUtc"]), 1) for c in children] + [(_time(c["endTimeUtc"]), -1) for c in children],
        key=lambda event: (event[0], event[1]),
    )
    return max(itertools.accumulate(step for _, step in events))


def test_a_grid_sweep_runs_every_combination_once_and_names_the_best(azureml_double) -> None:
    space = {"a": ["choice", [[1, 2]]], "b": ["choice", [[10, 20, 30]]]}
    ended, children = run_sweep(
        azureml_double,
        searchSpace=space,
        samplingAlgorithm={"samplingAlgorithmType": "Grid"},
        limits={"jobLimitsType": "Sweep", "maxConcurrentTrials": 2},
        objective={"goal": "minimize", "primaryMetric": "score"},
        trial={
            "command": LOG_SCORE.format(a="${{search_space.a}}", b="${{search_space.b}}"),
            "environmentId": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        },
    )
    assert ended["properties"]["status"] == "Completed"
    values = [azureml_double.job_info(child["runId"])["values"] for child in children]
    assert sorted((v["a"], v["b"]) for v in values) == [(1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    assert {child["status"] for child in children} == {"Completed"}
    assert most_at_once(children) <= 2
    from mlflow.tracking import MlflowClient

    scores = {
        c["runId"]: MlflowClient(azureml_double.mlflow_url).get_run(c["runId"]).data.metrics["score"] for c in children
    }
    assert scores[ended["properties"]["properties"]["best_child_run_id"]] == min(scores.values()) == 11
    assert ended["properties"]["properties"]["space_size"] == "6"


def test_a_random_sweep_draws_max_total_trials_one_at_a_time(azureml_double) -> None:
    ended, children = run_sweep(
        azureml_double,
        searchSpace={"a": ["uniform", [0.5, 1.5]], "b": ["randint", [3]]},
        samplingAlgorithm={"samplingAlgorithmType": "Random", "seed": 5},
        limits={"jobLimitsType": "Sweep", "maxConcurrentTrials": 1, "maxTotalTrials": 3},
        objective={"goal": "maximize", "primaryMetric": "score"},
        trial={
            "command": LOG_SCORE.format(a="${{search_space.a}}", b="${{search_space.b}}"),
            "environmentId": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        },
    )
    assert ended["properties"]["status"] == "Completed" and len(children) == 3
    assert most_at_once(children) == 1
    for child in children:
        values = azureml_double.job_info(child["runId"])["values"]
        assert 0.5 <= values["a"] <= 1.5 and values["b"] in (0, 1, 2)
    assert ended["properties"]["properties"]["space_size"] == "infinite space"


def test_grid_sampling_over_a_distribution_is_refused_at_put(azureml_double) -> None:
    name = f"sweep_{uuid.uuid4().hex[:10]}"
    body = recorded_sweep(azureml_double, samplingAlgorithm={"samplingAlgorithmType": "Grid"})
    answer = call(azureml_double, "PUT", f"{azureml_double.workspace_scope}/jobs/{name}", body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Grid sampling supports only choice; dropout_rate is not a choice."
    assert call(azureml_double, "GET", f"{azureml_double.workspace_scope}/jobs/{name}").status_code == 404


def test_a_failed_trial_does_not_fail_the_sweep_and_is_never_the_best(azureml_double) -> None:
    azureml_double.fail_next_job(message="the node ran out of memory")  # the first trial to start
    ended, children = run_sweep(
        azureml_double,
        searchSpace={"a": ["choice", [[3, 1, 2]]], "b": ["choice", [[0]]]},
        samplingAlgorithm={"samplingAlgorithmType": "Grid"},
        limits={"jobLimitsType": "Sweep", "maxConcurrentTrials": 1},
        objective={"goal": "maximize", "primaryMetric": "score"},
        trial={
            "command": LOG_SCORE.format(a="${{search_space.a}}", b="${{search_space.b}}"),
            "environmentId": "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        },
    )
    assert [child["status"] for child in children] == ["Failed", "Completed", "Completed"]
    assert ended["properties"]["status"] == "Completed"
    best = ended["properties"]["properties"]["best_child_run_id"]
    assert best == children[2]["runId"] and azureml_double.job_info(best)["values"] == {"a": 2, "b": 0}
