"""``kedro azureml ui``'s server environment: MLflow's GenAI job runner off by default, the user's choice kept."""

from __future__ import annotations

from kedro_azureml_mlflow.cli.ui import JOB_EXECUTION, server_environment


def test_the_job_runner_is_off_unless_the_user_turned_it_on() -> None:
    assert server_environment({"HOME": "/home/u"}) == {"HOME": "/home/u", JOB_EXECUTION: "false"}
    assert server_environment({JOB_EXECUTION: "true"})[JOB_EXECUTION] == "true"
