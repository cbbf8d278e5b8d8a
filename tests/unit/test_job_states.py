"""Every Azure ML job status: what ends a wait, what MLflow calls it, and how ``--wait`` ends on each."""

from __future__ import annotations

import pytest

from kedro_azureml_mlflow.backend.job_states import (
    EXIT_COMPLETED,
    EXIT_NOT_COMPLETED,
    EXIT_NOT_ENDED,
    WaitEnd,
    mlflow_status,
    terminal_statuses,
)
from kedro_azureml_mlflow.core.compat import sdk_job_statuses

MLFLOW_RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}


@pytest.mark.parametrize("status", sorted(sdk_job_statuses()))
def test_every_status_the_service_defines_has_an_mlflow_status(status: str) -> None:
    assert mlflow_status(status) in MLFLOW_RUN_STATUSES


def test_the_sdks_terminal_set_includes_not_responding_and_paused() -> None:
    assert terminal_statuses() == {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}


def test_a_status_the_service_adds_later_is_handled_as_unknown() -> None:
    assert mlflow_status("Hibernating") == mlflow_status("Unknown") == "RUNNING"


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        ("Completed", EXIT_COMPLETED, "completed"),
        ("Failed", EXIT_NOT_COMPLETED, "ended Failed: out of memory"),
        ("Canceled", EXIT_NOT_COMPLETED, "ended Canceled"),
        ("NotResponding", EXIT_NOT_ENDED, "no heartbeat"),
        ("Paused", EXIT_NOT_ENDED, "a user paused it"),
        ("Unknown", EXIT_NOT_ENDED, "cannot tell its state"),
    ],
)
def test_each_end_has_its_exit_code_and_says_what_happened(status: str, code: int, words: str) -> None:
    end = WaitEnd("job-1", status)
    assert end.exit_code == code
    assert words in end.summary("out of memory")
