"""``azureml.yml`` validation: every bad input is one line naming the file, the key and what
was expected — checked on the model directly and through ``kedro run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.config_loading import validate_plugin_config
from kedro_azureml_mlflow.settings.init_config import default_config_text


def error_for(raw: object, conf_dirs: list[Path]) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_plugin_config(raw, conf_dirs)
    return caught.value.message


@pytest.fixture
def conf(tmp_path: Path) -> list[Path]:
    """A base and a local conf folder; tests write azureml.yml into them."""
    dirs = [tmp_path / "conf" / "base", tmp_path / "conf" / "local"]
    for folder in dirs:
        folder.mkdir(parents=True)
    return dirs


def test_unknown_key_names_the_file_holding_it_and_the_allowed_keys(conf: list[Path]) -> None:
    (conf[0] / "azureml.yml").write_text("tracking:\n  enabled: true\n")
    (conf[1] / "azureml.yml").write_text("tracking:\n  experiment_name: x\n")
    message = error_for({"tracking": {"enabled": True, "experiment_name": "x"}}, conf)
    assert message == (
        f"{conf[1] / 'azureml.yml'}: tracking.experiment_name: unknown key in tracking; expected one of: "
        "enabled, tracking_uri, experiment, restore_deleted_experiment, run_name, disable_for_pipelines, params, "
        "metrics, artifacts, models, on_error, flush_interval_seconds, redact, max_wait_seconds, agent, child_runs"
    )


def test_wrong_type_says_what_was_expected_and_what_was_given(conf: list[Path]) -> None:
    (conf[0] / "azureml.yml").write_text("tracking:\n  params:\n    long_values: drop\n")
    message = error_for({"tracking": {"params": {"long_values": "drop"}}}, conf)
    assert message == (
        f"{conf[0] / 'azureml.yml'}: tracking.params.long_values: "
        "Input should be 'fail', 'truncate' or 'tag' (got 'drop')"
    )


def test_missing_workspace_field_is_field_required(conf: list[Path]) -> None:
    (conf[0] / "azureml.yml").write_text("workspace:\n  subscription_id: s\n  name: w\n")
    message = error_for({"workspace": {"subscription_id": "s", "name": "w"}}, conf)
    assert message == f"{conf[0] / 'azureml.yml'}: workspace.resource_group: field required"


def test_without_any_file_the_message_names_where_it_would_be(conf: list[Path]) -> None:
    message = error_for(["tracking"], conf)
    assert message.startswith(
        f"{conf[0] / 'azureml.yml'} or {conf[1] / 'azureml.yml'}: (top level): expected a mapping"
    )


def test_empty_and_default_files_are_valid() -> None:
    import yaml

    assert validate_plugin_config({}, []).tracking.enabled is True
    default = validate_plugin_config(yaml.safe_load(default_config_text()), [])
    assert default.tracking.metrics.datasets == ["*metrics"]
    assert default.workspace is None
