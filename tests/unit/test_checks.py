"""Up-front checks: tracking URIs and experiment names MLflow or Azure ML would refuse only mid-run,
config files Kedro cannot merge, ±inf metrics, and which MLflow errors are permanent."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.checks import check_experiment_name, check_tracking_uri
from kedro_azureml_mlflow.settings.config_loading import load_plugin_config, validate_plugin_config
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.plan.metrics import to_metric_records

WORKSPACE_PATH = (
    "/mlflow/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
)


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlflow.db",
        "sqlite:////tmp/mlflow.db",
        "postgresql+psycopg2://u:p@host:5432/db",
        "mysql://host/db",
        "http://127.0.0.1:5000",
        "https://mlflow.example.com/",
        "file:///tmp/mlruns",
        "databricks",
        f"azureml://eastus.api.azureml.ms{WORKSPACE_PATH}",
    ],
)
def test_uris_mlflow_can_open_pass(uri: str) -> None:
    assert check_tracking_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("foo://", "unknown scheme 'foo://'"),
        ("garbage", "expected a URI with a scheme"),
        ("localhost:5000", "expected a URI with a scheme"),
        ("azureml://eastus.api.azureml.ms/mlflow/v1.0/nothing", "is not a workspace's tracking URI"),
        ("azureml:///mlflow/v1.0" + WORKSPACE_PATH[12:], "is not a workspace's tracking URI"),
        ("http://", "without a host"),
        ("sqlite://", "without a host or database"),
        ("sqlite:////nonexistent_dir/x/y.db", "the folder /nonexistent_dir/x of the SQLite store does not exist"),
        ("postgresql+a+b://h/db", "more than one '+driver'"),
        ("http://[::1", "not a valid URI"),
        ("http://h/" + "x" * 5000, "not a tracking URI"),
        ("http://h/\nx", "not a tracking URI"),
    ],
)
def test_uris_mlflow_cannot_open_are_refused_saying_why(uri: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        check_tracking_uri(uri)
    assert says in str(caught.value)


def test_the_azureml_scheme_is_known_through_mlflow_entry_points() -> None:
    from importlib.metadata import entry_points

    assert "azureml" in {ep.name for ep in entry_points(group="mlflow.tracking_store")}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("team/exp", "Azure ML cannot find such an experiment by name"),
        ("x" * (10 * 1024 * 1024), "experiment name of 10485760 characters"),
        ("a\nb", "line break"),
    ],
    ids=["slash", "10MB", "newline"],
)
def test_experiment_names_azure_ml_cannot_find_are_refused(name: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_experiment_name(name)
    assert says in str(caught.value)


def test_config_error_for_a_huge_experiment_name_is_one_short_line() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_plugin_config({"tracking": {"experiment": "x" * (10 * 1024 * 1024)}}, [])
    message = caught.value.message
    assert "\n" not in message and len(message) < 400
    assert "tracking.experiment: experiment name of 10485760 characters" in message


def test_submit_experiment_is_checked_too() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_plugin_config({"submit": {"experiment": "a/b"}}, [])
    assert caught.value.message.startswith(": submit.experiment: experiment name with '/'")


def test_a_top_level_list_is_one_line_naming_the_file(tmp_path: Path) -> None:
    from kedro.config import OmegaConfigLoader

    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    bad = conf / "base" / "azureml.yml"
    bad.write_text("- tracking\n- submit\n")
    loader = OmegaConfigLoader(str(conf), base_env="base", default_run_env="local")
    with pytest.raises(ConfigError) as caught:
        load_plugin_config(loader, [conf / "base", conf / "local"])
    assert caught.value.message == (
        f"{bad}: (top level): expected a mapping of sections "
        "(workspace, credentials, tracking, submit, sweep), got list"
    )


def test_a_top_level_key_that_is_not_text_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """Found by the hypothesis suite (base ``{}``, local ``0:``): Kedro's merge raised AttributeError.
    (A nested one reaches validation, which names it too.)"""
    from kedro.config import OmegaConfigLoader

    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base" / "azureml.yml").write_text("{}\n")
    bad = conf / "local" / "azureml.yml"
    bad.write_text("0:\n")
    loader = OmegaConfigLoader(str(conf), base_env="base", default_run_env="local")
    with pytest.raises(ConfigError) as caught:
        load_plugin_config(loader, [conf / "base", conf / "local"])
    assert caught.value.message == f"{bad}: 0: expected a name (text) as key, got int 0"


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_infinite_metrics_are_logged_with_a_warning_naming_them(value: float, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kedro_azureml_mlflow"):
        records = to_metric_records("model_metrics", {"loss": value, "acc": 0.5}, ".", 0)
    assert records is not None and len(records) == 2
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"Metric 'model_metrics.loss' is {value}; MLflow stores it as ")


class _Refusal(Exception):
    def __init__(self, error_code: str) -> None:
        self.error_code = error_code


@pytest.mark.parametrize(
    "code", ["TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INTERNAL_ERROR", "UNAUTHENTICATED"]
)
def test_throttling_server_errors_and_expired_sign_ins_are_outages(code: str) -> None:
    """Journaled, not dropped: ``sync`` sends them once the server (or the sign-in) is back."""
    assert not client_ops.is_permanent(_Refusal(code))
