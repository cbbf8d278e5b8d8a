"""Sweeps, pure parts: Azure ML search expressions, sampling rules, settings, checks against a pipeline."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.sweep_config import SweepConfig
from kedro_azureml_mlflow.sweeps import pipeline_checks
from kedro_azureml_mlflow.sweeps.local_runner import FAILED, FINISHED, TrialResult, best_trial, params_text
from kedro_azureml_mlflow.sweeps.sampling import check_sampling, default_sampling, grid_size, plan_trials
from kedro_azureml_mlflow.sweeps.search_space import parse_expression, parse_search
from kedro_azureml_mlflow.sweeps.settings import resolve_settings
from kedro_azureml_mlflow.tracking.plan.run_info import TRIAL_ENV, trial_tags

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = st.one_of(st.integers(-1000, 1000), finite, words)


def space(*items: str):
    return [parse_search(item) for item in items]


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "args"),
    [
        ("model.C=choice(0.1, 1.0, 10.0)", "choice", (0.1, 1.0, 10.0)),
        ("solver=choice('lbfgs', 'saga')", "choice", ("lbfgs", "saga")),
        ("x=uniform(-1, 1)", "uniform", (-1, 1)),
        ("x=loguniform(-5, 0)", "loguniform", (-5, 0)),
        ("x=quniform(0, 10, 2)", "quniform", (0, 10, 2)),
        ("x=qloguniform(0, 3, 1)", "qloguniform", (0, 3, 1)),
        ("x=randint(5)", "randint", (5,)),
        ("x=normal(0, 1.5)", "normal", (0, 1.5)),
        ("x=lognormal(0, 1)", "lognormal", (0, 1)),
        ("x=qnormal(10, 2, 1)", "qnormal", (10, 2, 1)),
        ("x=qlognormal(1, 1, 0.5)", "qlognormal", (1, 1, 0.5)),
    ],
)
def test_every_azure_expression_parses(text, kind, args):
    dim = parse_search(text)
    assert (dim.name, dim.expression.kind, dim.expression.args) == (text.split("=")[0], kind, args)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model.C", "expected name=expression"),
        ("=choice(1)", "expected name=expression"),
        ("x=choice(1, 2", "does not parse"),
        ("x=chose(1, 2)", "unknown expression 'chose'"),
        ("x=choice(values=[1])", "positional arguments"),
        ("x=choice()", "at least one value"),
        ("x=choice(1, 1)", "a value twice"),
        ("x=choice(y)", "literal numbers or strings"),
        ("x=choice([1, 2])", "numbers or strings, got list"),
        ("x=choice('a,b')", "cannot be passed to kedro run --params"),
        ("x=uniform(1)", "uniform takes 2 arguments"),
        ("x=uniform(2, 1)", "min_value must be less than max_value"),
        ("x=uniform('a', 'b')", "must be numbers"),
        ("x=normal(0, 0)", "sigma must be greater than 0"),
        ("x=quniform(0, 1, 0)", "q must be greater than 0"),
        ("x=randint(0)", "at least 1"),
        ("x=randint(2.5)", "whole number"),
        ("x=__import__('os')", "unknown expression '__import__'"),
    ],
)
def test_a_bad_expression_is_one_line_naming_the_parameter(text, fragment):
    with pytest.raises(PluginError) as error:
        parse_search(text)
    message = error.value.message
    assert fragment in message
    assert "\n" not in message
    if "=" in text and text.split("=")[0]:
        assert repr(text.split("=")[0]) in message


@given(st.lists(scalars, min_size=1, max_size=6, unique_by=repr))
def test_an_expression_reads_back_from_its_own_text(values):
    expression = parse_expression(f"choice({', '.join(map(repr, values))})", "x")
    assert parse_expression(expression.text(), "x") == expression


# --- sampling ---------------------------------------------------------------------------------


def test_grid_is_every_combination_once():
    dims = space("a=choice(1, 2, 3)", "b.c=choice('x', 'y')")
    trials = plan_trials(dims, "grid", None, seed=0)
    assert grid_size(dims) == 6
    assert sorted((t["a"], t["b.c"]) for t in trials) == sorted((a, b) for a in (1, 2, 3) for b in ("x", "y"))
    assert plan_trials(dims, "grid", 4, seed=0) == trials[:4]


@pytest.mark.parametrize(
    ("sampling", "item", "refused"),
    [
        ("grid", "x=uniform(0, 1)", True),
        ("grid", "x=choice(0, 1)", False),
        ("bayesian", "x=normal(0, 1)", True),
        ("bayesian", "x=loguniform(0, 1)", True),
        ("bayesian", "x=quniform(0, 1, 0.5)", False),
        ("bayesian", "x=uniform(0, 1)", False),
        ("random", "x=qlognormal(0, 1, 1)", False),
    ],
)
def test_samplings_take_what_azure_ml_takes(sampling, item, refused):
    if refused:
        with pytest.raises(PluginError, match=f"{sampling} sampling takes only"):
            check_sampling(space(item), sampling)
    else:
        check_sampling(space(item), sampling)


def test_the_default_sampling_is_grid_only_for_choices():
    assert default_sampling(space("a=choice(1, 2)", "b=choice(3)")) == "grid"
    assert default_sampling(space("a=choice(1, 2)", "b=uniform(0, 1)")) == "random"


def test_random_sampling_needs_a_number_of_trials():
    with pytest.raises(PluginError, match="--max-trials is required with random sampling"):
        plan_trials(space("x=uniform(0, 1)"), "random", None, seed=1)


@given(st.integers(0, 2**31), finite, st.floats(min_value=1e-3, max_value=1e3), st.integers(1, 50))
def test_random_draws_stay_in_their_distribution_and_repeat_with_the_seed(seed, low, width, upper):
    dims = space(
        f"u=uniform({low!r}, {low + width!r})",
        f"q=quniform({low!r}, {low + width!r}, 0.5)",
        f"r=randint({upper})",
        "l=loguniform(-2, 2)",
        "c=choice('a', 'b')",
    )
    trials = plan_trials(dims, "random", 8, seed)
    assert trials == plan_trials(dims, "random", 8, seed)
    for trial in trials:
        assert low <= trial["u"] <= low + width
        assert math.isclose(trial["q"] / 0.5, round(trial["q"] / 0.5), abs_tol=1e-6)
        assert trial["r"] in range(upper)
        assert math.exp(-2) <= trial["l"] <= math.exp(2)
        assert trial["c"] in ("a", "b")


def test_normal_draws_follow_their_parameters():
    dims = space("n=normal(10, 2)", "g=lognormal(0, 0.5)", "qn=qnormal(10, 2, 1)")
    trials = plan_trials(dims, "random", 2000, seed=7)
    mean = sum(t["n"] for t in trials) / len(trials)
    assert 9.7 < mean < 10.3
    assert all(t["g"] > 0 for t in trials)
    assert all(float(t["qn"]).is_integer() for t in trials)


# --- settings: azureml.yml's sweep: and the command line --------------------------------------


def test_the_command_line_wins_over_sweep_settings():
    defaults = SweepConfig(
        objective="model_metrics.f1", goal="minimize", search={"model.C": "uniform(0, 1)"}, max_trials=4, seed=3
    )
    settings = resolve_settings(
        defaults,
        {"objective": "model_metrics.accuracy", "goal": "maximize", "search": ("model.max_iter=choice(100, 200)",)},
        "conf/base/azureml.yml",
        local=True,
    )
    assert (settings.objective, settings.goal, settings.sampling) == ("model_metrics.accuracy", "maximize", "grid")
    assert [dim.name for dim in settings.space] == ["model.max_iter"]
    assert settings.trials == ({"model.max_iter": 100}, {"model.max_iter": 200})
    assert settings.as_params()["search.model.max_iter"] == "choice(100, 200)"


def test_sweep_settings_alone_define_a_sweep():
    defaults = SweepConfig(
        objective="m.a", goal="maximize", search={"x": "uniform(0, 1)"}, sampling="bayesian", max_trials=3, seed=5
    )
    settings = resolve_settings(defaults, {}, "azureml.yml", local=True)
    assert (settings.sampling, settings.requested_sampling, len(settings.trials)) == ("random", "bayesian", 3)
    assert settings.as_params()["sweep.requested_sampling"] == "bayesian"


@pytest.mark.parametrize(
    ("cli", "fragment"),
    [
        ({"goal": "maximize", "search": ("x=choice(1)",)}, "No objective: pass --objective"),
        ({"objective": "m.a", "search": ("x=choice(1)",)}, "No goal: pass --goal"),
        ({"objective": "m.a", "goal": "maximize"}, "Nothing to search"),
        ({"objective": "m.a", "goal": "maximize", "search": ("x=choice(1)", "x=choice(2)")}, "given twice"),
        ({"objective": "m.a", "goal": "maximize", "search": ("x=normal(0, 1)",), "sampling": "bayesian"}, "bayesian"),
    ],
)
def test_a_missing_or_refused_setting_is_one_line(cli, fragment):
    with pytest.raises(PluginError, match=fragment):
        resolve_settings(SweepConfig(), cli, "conf/base/azureml.yml", local=True)


def test_the_sweep_section_refuses_unknown_keys():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="max_trails"):
        SweepConfig.model_validate({"max_trails": 3})


# --- checks against the pipeline --------------------------------------------------------------

PARAMETERS = {"model": {"C": 1.0, "max_iter": 200}, "split": {"test_size": 0.2}, "seed": 1}


def test_searched_names_must_be_parameters_the_pipeline_reads():
    read = ["iris", "params:model", "params:split.test_size"]
    pipeline_checks.check_search_names(space("model.C=choice(1)", "split.test_size=choice(0.3)"), PARAMETERS, read, "p")
    with pytest.raises(PluginError, match=r"'model.c' is not a parameter of the project; did you mean 'model.C'\?"):
        pipeline_checks.check_search_names(space("model.c=choice(1)"), PARAMETERS, read, "p")
    with pytest.raises(PluginError, match="pipeline 'p' does not read it"):
        pipeline_checks.check_search_names(space("seed=choice(2)"), PARAMETERS, read, "p")
    pipeline_checks.check_search_names(space("seed=choice(2)"), PARAMETERS, ["parameters"], "p")


def test_a_searched_name_cannot_also_be_fixed():
    pipeline_checks.check_fixed_params(space("model.C=choice(1)"), {"model": {"max_iter": 100}})
    with pytest.raises(PluginError, match="also fixed by --params"):
        pipeline_checks.check_fixed_params(space("model.C=choice(1)"), {"model": {"C": 2}})


def test_the_objective_must_be_logged_by_an_output_of_the_pipeline():
    catalog = {"scores": {"type": "kedro_azureml_mlflow.datasets.MlflowMetricsDataset", "prefix": "eval"}}
    prefixes = pipeline_checks.metric_prefixes(["model_metrics", "scores", "classifier"], catalog, ["*metrics"])
    assert prefixes == {"model_metrics": "model_metrics", "eval": "scores"}
    pipeline_checks.check_objective("model_metrics.accuracy", prefixes, ".", "p")
    pipeline_checks.check_objective("eval.f1", prefixes, ".", "p")
    with pytest.raises(PluginError, match="no output of pipeline 'p' is logged as metrics under 'classifier'"):
        pipeline_checks.check_objective("classifier.accuracy", prefixes, ".", "p")


# --- a trial's values and run ------------------------------------------------------------------


@given(st.dictionaries(st.sampled_from(["a", "b.c", "d.e.f"]), st.one_of(scalars, st.booleans()), min_size=1))
def test_trial_values_read_back_as_kedro_run_reads_them(values):
    """Kedro parses --params with OmegaConf's dotlist: each value must come back with its type."""
    parsed = OmegaConf.to_container(OmegaConf.from_dotlist(params_text(values).split(",")))
    for name, value in values.items():
        node = parsed
        for part in name.split("."):
            node = node[part]
        assert node == value
        assert type(node) is type(value)


def test_a_trial_run_is_tagged_as_a_child_of_the_sweep(monkeypatch):
    monkeypatch.setenv(TRIAL_ENV, '{"parent_run_id": "abc", "trial": 3}')
    assert trial_tags() == {"mlflow.parentRunId": "abc", "kedro.sweep.trial": "3"}
    monkeypatch.setenv(TRIAL_ENV, "garbage")
    with pytest.raises(PluginError, match=TRIAL_ENV):
        trial_tags()
    monkeypatch.delenv(TRIAL_ENV)
    assert trial_tags() == {}


def _result(number, status, objective):
    return TrialResult(number, {}, status, f"run{number}", objective, 1.0, None)  # type: ignore[arg-type]


def test_the_best_trial_is_a_finished_one_with_the_best_objective():
    results = [
        _result(1, FINISHED, 0.5),
        _result(2, FAILED, 0.99),
        _result(3, FINISHED, None),
        _result(4, FINISHED, 0.8),
        _result(5, FINISHED, float("nan")),
    ]
    assert best_trial(results, "maximize").number == 4
    assert best_trial(results, "minimize").number == 1
    assert best_trial([_result(1, FAILED, 1.0)], "maximize") is None


def test_the_same_seed_gives_the_same_trials_whatever_the_global_random_state():
    dims = space("x=uniform(0, 1)")
    first = plan_trials(dims, "random", 3, seed=11)
    random.seed(99)
    assert plan_trials(dims, "random", 3, seed=11) == first
