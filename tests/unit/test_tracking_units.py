"""Pure logic of the tracking path: limits, params, metrics (the agent and replay: tests/integration/
test_tracking_store.py)."""

from __future__ import annotations

import pytest

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.config import LongParamStrategy, ParamsConfig
from kedro_azureml_mlflow.tracking.plan.metrics import is_metrics_dataset, to_metric_records
from kedro_azureml_mlflow.tracking.plan.params import (
    AZUREML_MAX_PARAMS,
    MAX_PARAM_VALUE,
    flatten,
    max_params_for,
    prepare_params,
)
from kedro_azureml_mlflow.tracking.wire.batching import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    Batch,
    chunk,
)


def test_chunks_respect_every_per_request_limit_and_never_mix_params_with_metrics() -> None:
    batch = Batch(
        metrics=[(f"m{i}", float(i), 0, 0) for i in range(MAX_METRICS_PER_BATCH * 2 + 1)],
        params=[(f"p{i}", "v") for i in range(MAX_PARAMS_PER_BATCH + 1)],
        tags=[("t", "v")],
    )
    parts = list(chunk(batch))
    assert [(len(p.params), len(p.tags), len(p.metrics)) for p in parts] == [
        (100, 0, 0),
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 250),
        (0, 0, 250),
        (0, 0, 1),
    ]


def test_chunks_stay_under_a_megabyte() -> None:
    big = "x" * 5000
    parts = list(chunk(Batch(params=[(f"p{i}", big) for i in range(100)] * 3)))
    assert all(sum(len(k) + len(v) for k, v in p.params) < 1_000_000 for p in parts)
    assert sum(len(p.params) for p in parts) == 300


def test_flatten_nested_parameters() -> None:
    assert flatten({"a": {"b": {"c": 1}, "d": [1, 2]}, "e": {}}, "/") == {"a/b/c": 1, "a/d": [1, 2], "e": {}}


@pytest.mark.parametrize(
    ("strategy", "params", "tags", "kept"),
    [
        (
            LongParamStrategy.truncate,
            [("long", "y" * MAX_PARAM_VALUE), ("longer", "z" * MAX_PARAM_VALUE), ("short", "1")],
            [],
            {},
        ),
        # "tag" keeps every value whole: in a tag while it fits one, else in kedro/params.json.
        (LongParamStrategy.tag, [("short", "1")], [("kedro.param.long", "y" * 7000)], {"longer": "z" * 9000}),
    ],
)
def test_long_parameter_values(strategy: LongParamStrategy, params: list, tags: list, kept: dict) -> None:
    prepared = prepare_params(
        {"long": "y" * 7000, "longer": "z" * 9000, "short": 1}, ParamsConfig(long_values=strategy)
    )
    assert prepared.params == params
    assert prepared.tags == tags
    assert prepared.kept == kept


def test_params_past_the_stores_limit_are_kept_whole_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    values = {f"p{i:03d}": i for i in range(300)}
    prepared = prepare_params(values, ParamsConfig(), max_params=AZUREML_MAX_PARAMS)
    assert prepared.params == [(f"p{i:03d}", str(i)) for i in range(200)]
    assert prepared.kept == {f"p{i:03d}": str(i) for i in range(200, 300)}
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "100 parameters are kept whole in the run's artifact kedro/params.json" in warning
    assert "100 past Azure ML's 200 params per run" in warning


def test_only_azure_ml_limits_params_per_run() -> None:
    assert max_params_for("azureml://eastus.api.azureml.ms/mlflow/v2.0/subscriptions/s") == AZUREML_MAX_PARAMS
    assert max_params_for("sqlite:///mlflow.db") is None
    assert max_params_for("http://127.0.0.1:5000") is None


def test_long_parameter_value_fails_when_asked_naming_the_key_and_the_setting() -> None:
    with pytest.raises(PluginError, match=r"Parameter 'model\.blob' is 7000 characters.*tracking\.params\.long_values"):
        prepare_params({"model": {"blob": "y" * 7000}}, ParamsConfig(long_values=LongParamStrategy.fail))


def test_metric_records_from_numbers_dicts_and_lists() -> None:
    assert to_metric_records("score", 3, ".", 7) == [("score", 3.0, 7, 0)]
    assert to_metric_records("curve", [0.5, 0.25], ".", 7) == [("curve", 0.5, 7, 0), ("curve", 0.25, 7, 1)]
    assert to_metric_records("m", {"a": 1, "b": {"c": [2, 3]}}, ".", 7) == [
        ("m.a", 1.0, 7, 0),
        ("m.b.c", 2.0, 7, 0),
        ("m.b.c", 3.0, 7, 1),
    ]


@pytest.mark.parametrize("value", ["0.9", True, [], {"a": "x"}, {"a": 1, "b": None}, [1, "2"], {}])
def test_values_that_are_not_metric_like_are_refused_whole(value: object) -> None:
    assert to_metric_records("m", value, ".", 0) is None


def test_dataset_name_patterns() -> None:
    assert is_metrics_dataset("model_metrics", ["*metrics"])
    assert is_metrics_dataset("eval.scores", ["*metrics", "eval.*"])
    assert not is_metrics_dataset("metrics_table", ["*metrics"])
