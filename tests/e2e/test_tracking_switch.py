"""Tracking turned off, by ``tracking.enabled`` or by ``KEDRO_AZUREML_MLFLOW_TRACKING``, sends nothing anywhere.

Every run points ``tracking.tracking_uri`` at a recorder that sees any request: "nothing tracked" is
observed on the wire, in the embedded store and in the journal folder. The control case turns
tracking on against the same recorder, to show that these runs would be seen if they tracked.
"""

from __future__ import annotations

import json

import pytest

from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME
from tests.http_recorder import HttpRecorder
from tests.kedro_project import KedroProject, clean_env

pytestmark = pytest.mark.slow

SWITCH = "KEDRO_AZUREML_MLFLOW_TRACKING"


def _point_at(project: KedroProject, recorder: HttpRecorder, enabled: bool) -> None:
    tracking = {"tracking_uri": recorder.url, "enabled": enabled}
    project.write("conf/base/azureml.yml", json.dumps({"tracking": tracking}))


@pytest.mark.parametrize(
    ("enabled", "switch"),
    [
        pytest.param(False, None, id="enabled-false"),
        pytest.param(True, "off", id="switch-off"),
        pytest.param(True, "FALSE", id="switch-false-any-case"),
        pytest.param(False, "on", id="switch-on-does-not-override-the-file"),
    ],
)
def test_tracking_off_sends_nothing_anywhere(
    project: KedroProject, http_recorder: HttpRecorder, enabled: bool, switch: str | None
) -> None:
    _point_at(project, http_recorder, enabled)
    env = clean_env(**({SWITCH: switch} if switch is not None else {}))
    result = project.run("--pipeline", "training", env=env)
    output = result.stdout + result.stderr

    assert http_recorder.requests == []
    assert not (project.path / "mlflow.db").exists()
    assert not (project.path / JOURNAL_DIRNAME).exists()
    assert "MLflow:" not in output
    if enabled:
        assert f"Not tracking: {SWITCH}={switch}" in output


def test_control_the_same_run_tracking_on_reaches_the_recorder(
    project: KedroProject, http_recorder: HttpRecorder
) -> None:
    _point_at(project, http_recorder, enabled=True)
    env = clean_env(**{SWITCH: "on", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    result = project.run("--pipeline", "training", env=env)

    assert any("/api/2.0/mlflow/" in request for request in http_recorder.requests), http_recorder.requests
    assert "could not be sent" in result.stdout + result.stderr  # refused, so journaled: the run still succeeds


def test_a_switch_value_that_is_neither_on_nor_off_is_one_line(project: KedroProject) -> None:
    result = project.kedro("run", "--pipeline", "training", env=clean_env(**{SWITCH: "maybe"}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    error_lines = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert error_lines == [f"Error: {SWITCH}: expected on or off (got 'maybe')"], output[-3000:]
    assert "Traceback" not in output
