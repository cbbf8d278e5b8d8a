"""submit --wait on jobs the double holds in each status."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kedro_azureml_mlflow.backend.job_states import (
    EXIT_NOT_ENDED,
)
from tests.azure.test_submit_azure import ship_raw_data
from tests.kedro_project import clean_env

MLFLOW_RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}


@pytest.mark.azure
@pytest.mark.slow
@pytest.mark.parametrize("state", ["NotResponding", "Paused", "Unknown"])
def test_wait_ends_with_exit_code_3_on_a_job_stuck_in(
    state: str, starter_project: Path, azureml_double, tmp_path: Path
) -> None:
    flag = tmp_path / "release"
    project = hold_in_job(ship_raw_data(starter_project), flag)
    # Unknown is waited on for a bounded time: one second here instead of five minutes.
    (project / "conf/local/azureml.yml").write_text("submit:\n  unknown_status_minutes: 0.02\n")
    known = {j["name"] for j in azureml_double.jobs()}
    args = ["azureml", "submit", "--compute", "cpu-cluster", "--include-data", "--wait", "--no-stream"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env=clean_env(**azureml_double.client_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    name = None
    try:
        name = _new_running_job(azureml_double, known, time.monotonic() + 300)
        azureml_double.force_job_status(name, state)
        _, stderr = proc.communicate(timeout=300)
    finally:
        flag.touch()
        if proc.poll() is None:
            proc.kill()
        if name is not None:
            # Azure's cancel operation sends no Retry-After: the SDK would poll it after its default 30 s.
            azureml_double.ml_client().jobs.begin_cancel(name, polling_interval=0.5).wait()

    assert proc.returncode == EXIT_NOT_ENDED, stderr
    assert f"Job {name} is {state}" in stderr and f"kedro azureml cancel {name}" in stderr
    assert "Traceback" not in stderr


def hold_in_job(project: Path, flag: Path) -> Path:
    """Inside the job only (the double injects AZUREML_RUN_ID) the pipeline waits until ``flag`` exists."""
    nodes = next(project.glob("src/*/pipelines/training/nodes.py"))
    nodes.write_text(
        nodes.read_text()
        + "\nimport os, pathlib, time\nif os.environ.get('AZUREML_RUN_ID'):\n"
        + "    _deadline = time.monotonic() + 300\n"
        + f"    while not pathlib.Path({str(flag)!r}).exists() and time.monotonic() < _deadline:\n"
        + "        time.sleep(0.05)\n"
    )
    return project


def _new_running_job(double, known: set[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        running = [j["name"] for j in double.jobs() if j["name"] not in known and j["status"] == "Running"]
        if running:
            return running[0]
        time.sleep(0.1)
    pytest.fail("the submitted job never reached Running")
