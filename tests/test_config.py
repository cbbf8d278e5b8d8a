"""``azureml.yml`` validation: every bad input is one line naming the file, the key and what
was expected — checked on the model directly and through ``kedro run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.config_loading import validate_plugin_config
from kedro_azureml_mlflow.settings.init_config import default_config_text
from tests.kedro_project import KedroProject


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
        "metrics, artifacts, models, on_error, flush_interval_seconds, redact, max_wait_seconds, agent"
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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("tracking:\n  experimnt: x\n", "tracking.experimnt: unknown key in tracking"),
        (
            "tracking:\n  flush_interval_seconds: soon\n",
            "tracking.flush_interval_seconds: Input should be a valid number",
        ),
        (
            "tracking:\n  flush_interval_seconds: .inf\n",
            "tracking.flush_interval_seconds: Input should be less than or equal to 3600",
        ),
        ("workspace:\n  subscription_id: s\n  name: w\n", "workspace.resource_group: field required"),
        ("tracking: [1\n", "Invalid YAML"),
    ],
    ids=["unknown-key", "wrong-type", "flush-out-of-range", "missing-workspace-field", "bad-yaml"],
)
def test_kedro_run_reports_one_located_line(project: KedroProject, yaml_text: str, expected: str) -> None:
    config = project.write("conf/base/azureml.yml", yaml_text)
    result = project.kedro("run")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    error_lines = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1, output[-3000:]
    assert error_lines[0].startswith(f"Error: {config}")
    assert expected in error_lines[0]
    assert "Traceback" not in output
    assert not (project.path / "mlflow.db").exists()  # nothing half-done


@pytest.mark.slow
def test_a_sqlite_store_in_a_missing_folder_is_one_line_naming_it_and_creates_nothing(
    project: KedroProject, tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "x"
    config = project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: sqlite:///{missing}/y.db\n")
    result = project.kedro("run")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    [error] = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert error.startswith(f"Error: {config}") and f"the folder {missing} of the SQLite store does not exist" in error
    assert "Traceback" not in output and not (tmp_path / "typo").exists()
