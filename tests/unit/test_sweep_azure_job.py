"""A sweep as an Azure ML sweep job, built with the real azure-ai-ml SDK and read back as the REST body it would
send: input names, the trials' ``--params``, the search space, sampling, limits and early termination."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.ai.ml  # noqa: F401  (imported while collecting: on import, urllib3 probes IPv6 with a bind)
import pytest

from kedro_azureml_mlflow.backend.job import JobRequest, command_job
from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.sweep_config import SweepConfig
from kedro_azureml_mlflow.sweeps.azure_follow import trial_number
from kedro_azureml_mlflow.sweeps.azure_job import (
    INPUTS_TAG,
    describe,
    early_termination_policy,
    input_names,
    sweep_job,
    trial_params,
)
from kedro_azureml_mlflow.sweeps.search_space import parse_search
from kedro_azureml_mlflow.sweeps.settings import resolve_settings


def settings(*search: str, **cli: Any) -> Any:
    given = {"objective": "model_metrics.accuracy", "goal": "maximize", "search": list(search), **cli}
    return resolve_settings(SweepConfig(), given, "conf/base/azureml.yml", local=False)


def rest_body(sweep: Any, names: dict[str, str], early: str | None = None, fixed: str = "") -> dict[str, Any]:
    """The sweep job's properties exactly as ``jobs.create_or_update`` serialises them."""
    command = f"kedro run --params={trial_params(fixed, names)!r}"
    options = JobOptions.model_validate({"compute": "cpu-cluster"})
    request = JobRequest(Path("/snapshot"), command, "azureml:kedro-env:3", options, "demo")
    job = sweep_job(command_job(request), sweep, names, early)
    rest = job._to_job()._to_rest_object()
    return dict(rest.as_dict()["properties"])


def test_input_names_keep_letters_digits_and_underscores_and_stay_distinct() -> None:
    space = [parse_search(text) for text in ("model.C=choice(1)", "model_C=choice(2)", "1st.x=choice(3)")]
    assert input_names(space) == {"model.C": "model_C", "model_C": "model_C_2", "1st.x": "p_1st_x"}


def test_trial_params_put_each_searched_input_after_the_fixed_values() -> None:
    names = {"model.C": "model_C", "model.max_iter": "model_max_iter"}
    assert trial_params("split.test_size=0.3", names) == (
        "split.test_size=0.3,model.C=${{inputs.model_C}},model.max_iter=${{inputs.model_max_iter}}"
    )
    assert trial_params("", {"model.C": "model_C"}) == "model.C=${{inputs.model_C}}"


def test_a_grid_sweep_job_reads_its_values_from_the_search_space_in_the_trial_command() -> None:
    sweep = settings("model.C=choice(0.1, 1.0, 10.0)", "model.max_iter=choice(100, 200)", max_concurrent=2)
    names = input_names(sweep.space)
    body = rest_body(sweep, names, fixed="split.test_size=0.3")
    assert body["jobType"] == "Sweep"
    assert body["searchSpace"] == {
        "model_C": ["choice", [[0.1, 1.0, 10.0]]],
        "model_max_iter": ["choice", [[100, 200]]],
    }
    assert body["samplingAlgorithm"] == {"samplingAlgorithmType": "Grid"}
    assert body["limits"] == {"jobLimitsType": "Sweep", "maxTotalTrials": 6, "maxConcurrentTrials": 2}
    assert body["objective"] == {"goal": "maximize", "primaryMetric": "model_metrics.accuracy"}
    assert body["trial"]["command"] == (
        "kedro run --params='split.test_size=0.3,model.C=${{search_space.model_C}},"
        "model.max_iter=${{search_space.model_max_iter}}'"
    )
    assert json.loads(body["tags"][INPUTS_TAG]) == {"model.C": "model_C", "model.max_iter": "model_max_iter"}
    assert body["computeId"] == "cpu-cluster" and body["experimentName"] == "demo"
    assert "earlyTermination" not in body


@pytest.mark.parametrize(
    ("expression", "wire"),
    [
        ("uniform(0.01, 10)", ["uniform", [0.01, 10]]),
        ("loguniform(-3, 3)", ["loguniform", [-3, 3]]),
        ("quniform(1, 9, 2)", ["quniform", [1, 9, 2]]),
        ("randint(5)", ["randint", [5]]),
        ("normal(1, 0.5)", ["normal", [1, 0.5]]),
        ("qlognormal(0, 1, 2)", ["qlognormal", [0, 1, 2]]),
    ],
)
def test_each_distribution_is_sent_as_azure_ml_writes_it(expression: str, wire: list[Any]) -> None:
    sweep = settings(f"model.C={expression}", max_trials=4, seed=7)
    body = rest_body(sweep, input_names(sweep.space))
    assert body["searchSpace"] == {"model_C": wire}
    assert body["samplingAlgorithm"] == {"samplingAlgorithmType": "Random", "seed": 7}
    assert body["limits"]["maxTotalTrials"] == 4


def test_bayesian_sampling_and_a_timeout_go_to_azure_ml_as_asked() -> None:
    sweep = settings("model.C=uniform(0.1, 10)", sampling="bayesian", max_trials=20, timeout=30)
    body = rest_body(sweep, input_names(sweep.space))
    assert body["samplingAlgorithm"] == {"samplingAlgorithmType": "Bayesian"}
    assert body["limits"]["timeout"] == "PT30M"


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("bandit", {"policyType": "Bandit", "slackFactor": 0.1, "evaluationInterval": 1, "delayEvaluation": 0}),
        ("median", {"policyType": "MedianStopping", "evaluationInterval": 1, "delayEvaluation": 0}),
    ],
)
def test_early_termination_is_passed_through(name: str, policy: dict[str, Any]) -> None:
    sweep = settings("model.C=choice(0.1, 1.0)")
    assert rest_body(sweep, input_names(sweep.space), early=name)["earlyTermination"] == policy


def test_an_unknown_early_termination_is_one_line() -> None:
    with pytest.raises(PluginError, match=r"--early-termination 'truncation': expected one of bandit, median"):
        early_termination_policy("truncation")


def test_the_dry_run_describes_what_the_sweep_adds() -> None:
    sweep = settings("model.C=choice(0.1, 1.0)", max_concurrent=2)
    lines = describe(sweep, input_names(sweep.space), "median")
    assert lines == [
        "objective: maximize model_metrics.accuracy",
        "sampling: grid",
        "trials: at most 2, 2 at once",
        "early termination: median",
        "search: model.C as input model_C = choice(0.1, 1.0)",
    ]


def test_trials_are_numbered_from_one_after_azure_mls_names() -> None:
    assert [trial_number(f"sweep_abc_{n}") for n in (0, 1, 12)] == [1, 2, 13]
    assert trial_number("no-number") == 0


def test_a_trial_that_ended_before_its_run_existed_is_reported_with_its_jobs_status() -> None:
    from types import SimpleNamespace

    from mlflow.exceptions import MlflowException

    from kedro_azureml_mlflow.sweeps.azure_follow import SweepJobRef, trial_result

    class NoRuns:
        def get_run(self, run_id: str) -> Any:
            raise MlflowException(f"Run '{run_id}' not found")

    ref = SweepJobRef(None, "sweep_x", settings("model.C=choice(0.1, 1.0)"))  # type: ignore[arg-type]  (not read)
    result = trial_result(NoRuns(), ref, SimpleNamespace(name="sweep_x_1", status="Failed"))
    assert (result.number, result.status, result.run_id, result.objective) == (2, "FAILED", None, None)
    assert result.log_path == "kedro azureml logs sweep_x_1"
