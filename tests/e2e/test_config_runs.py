"""A bad azureml.yml seen by a real kedro run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kedro_project import KedroProject


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
