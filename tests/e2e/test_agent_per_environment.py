"""One warm tracking agent serves every project of a Python environment; what it needs of each project comes
with each run.

Every run is a real ``kedro run`` subprocess with agents kept alive as shipped, in a runtime folder of the
test's own (``tests.warm_agents``), tracking into each project's own SQLite store named by a *relative*
URI (``sqlite:///mlflow.db``: the same string in both projects). Which agents exist is read from the
process table; which agent served a run, from the pid the run's closing line names.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from kedro_azureml_mlflow.tracking.client.store_template import TEMPLATE_PREFIX
from kedro_azureml_mlflow.tracking.wire.channel import endpoint_for
from tests.kedro_project import KEDRO, KedroProject
from tests.waiting import wait_until
from tests.warm_agents import WarmAgents

pytestmark = pytest.mark.slow

# A node whose output the plugin logs as an artifact (``summary_report.json``), beside a metric.
REPORT_PIPELINE = """

def summary():
    return {"made_in": os.getcwd()}


_registered_before_report = register_pipelines


def register_pipelines():
    report = Pipeline([node(summary, None, "summary_report", name="summary"), node(score, None, "score_metrics")])
    return {**_registered_before_report(), "report": report}
"""

TRACKING = """\
tracking:
  tracking_uri: sqlite:///mlflow.db
  artifacts:
    datasets: ["*_report"]
"""


@pytest.fixture
def two_projects(kedro_new_project: Path, tmp_path: Path) -> list[KedroProject]:
    """Two copies of the test project in different folders, each tracking into ``sqlite:///mlflow.db``."""
    projects = []
    for name in ("first", "second"):
        project = KedroProject(tmp_path / name / "probe")
        shutil.copytree(kedro_new_project, project.path)
        project.write("conf/base/azureml.yml", TRACKING)
        with (project.path / "src/probe/pipeline_registry.py").open("a") as registry:
            registry.write(REPORT_PIPELINE)
        projects.append(project)
    return projects


def serving_agent(result: subprocess.CompletedProcess[str]) -> int:
    """The agent the run's closing line names (``… tracking agent <pid>)``)."""
    found = re.findall(r"tracking agent (\d+)\)", result.stdout + result.stderr)
    assert len(found) == 1, (result.stdout + result.stderr)[-3000:]
    return int(found[0])


def only_run(project: KedroProject) -> Any:
    runs = project.runs()
    assert len(runs) == 1, [(run.info.run_id, run.info.status) for run in runs]
    return runs[0]


def local_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))


def test_one_agent_serves_two_projects_each_into_its_own_store_and_artifact_folder(
    two_projects: list[KedroProject], warm_agents: WarmAgents
) -> None:
    first, second = two_projects
    first_result = warm_agents.run(first, "--pipeline", "report")
    [agent] = warm_agents.alive()
    assert serving_agent(first_result) == agent

    second_result = warm_agents.run(second, "--pipeline", "report")  # a project that never ran before
    assert warm_agents.alive() == {agent}  # no second agent process…
    assert serving_agent(second_result) == agent  # …the first project's served it
    assert f"warm tracking agent {agent}" in second_result.stdout + second_result.stderr

    for project, other in ((first, second), (second, first)):
        run = only_run(project)  # in the project's own mlflow.db (the relative URI, read against the project)
        assert run.info.status == "FINISHED" and run.data.metrics["score_metrics"] == pytest.approx(0.42)
        artifacts = local_path(run.info.artifact_uri)
        assert artifacts.is_relative_to(project.path / "mlruns"), artifacts  # where MLflow puts them for a
        assert (artifacts / "summary_report.json").is_file()  # process working in the project's folder
        run_folders = {path.name for path in (project.path / "mlruns").glob("*/*") if path.is_dir()}
        assert run_folders == {run.info.run_id}  # nothing of the other project's run in this folder
        assert other.path / "mlruns" not in artifacts.parents
    assert not (warm_agents.files / "mlruns").exists()  # nor in the agent's own folder
    [template] = warm_agents.files.glob("*.db")  # the empty store new ones are copied from, and only that:
    assert template.name.startswith(TEMPLATE_PREFIX)
    with contextlib.closing(sqlite3.connect(f"file:{template}?mode=ro", uri=True)) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # still empty


def test_a_run_whose_tracking_environment_differs_gets_an_agent_of_its_own(
    two_projects: list[KedroProject], warm_agents: WarmAgents
) -> None:
    first, second = two_projects
    plain = serving_agent(warm_agents.run(first))
    other_env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}  # read by the agent's MLflow, so not served by `plain`

    retrying = serving_agent(warm_agents.run(second, **other_env))
    assert retrying != plain
    assert warm_agents.alive() == {plain, retrying}

    # The same environment again, from the other project: the agent of that environment serves it.
    assert serving_agent(warm_agents.run(first, **other_env)) == retrying
    assert serving_agent(warm_agents.run(second)) == plain
    assert warm_agents.alive() == {plain, retrying}
    assert len(first.runs()) == 2 and len(second.runs()) == 2


def test_agent_status_shows_what_runs_and_stop_ends_it(
    two_projects: list[KedroProject], warm_agents: WarmAgents
) -> None:
    first, second = two_projects
    warm_agents.run(first)
    warm_agents.run(second)
    [agent] = warm_agents.alive()

    status = warm_agents.kedro(first, "azureml", "agent", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Tracking agent {agent} (this environment): idle for" in status.stdout
    assert "2 runs of 2 projects" in status.stdout
    assert f"{second.path}, {first.path}" in status.stdout  # the most recent first
    assert re.search(r"memory: +\d+ MiB", status.stdout)

    wrong = warm_agents.kedro(first, "azureml", "agent", "stop", "--pid", "1")
    assert wrong.returncode != 0
    assert f"--pid 1: no tracking agent of yours has that process id (running: {agent};" in wrong.stderr
    both = warm_agents.kedro(first, "azureml", "agent", "stop", "--all", "--pid", str(agent))
    assert both.returncode != 0 and "--all and --pid exclude each other: give one of them" in both.stderr
    assert warm_agents.alive() == {agent}

    stopped = warm_agents.kedro(second, "azureml", "agent", "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"Stopped tracking agent {agent} (2 runs of 2 projects)." in stopped.stdout
    wait_until(lambda: not warm_agents.alive(), 60, "the stopped agent's process to end")
    assert list(warm_agents.files.glob("*.key")) == []  # it cleaned up as an idle exit does

    after = warm_agents.kedro(first, "azureml", "agent", "status")
    assert after.returncode == 0 and "No tracking agent is running" in after.stdout


def test_stop_lets_the_run_being_served_end_first(
    project: KedroProject, warm_agents: WarmAgents, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process reads the store while the agent may still be making it: both take the same store lock
    # only when they share the private folder, as a user's processes do.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(warm_agents.runtime))
    marker = project.path / "reached"
    running = subprocess.Popen(
        [KEDRO, "run", "--pipeline", "interrupted"],  # ten nodes' metrics, then a node that waits to be stopped
        cwd=project.path,
        env=warm_agents.env(PROBE_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stopping: subprocess.Popen[str] | None = None

    def status() -> str:
        return warm_agents.kedro(project, "azureml", "agent", "status").stdout

    try:
        wait_until(marker.exists, 180, "the pipeline to reach its last node")
        wait_until(project.runs, 180, "the tracking agent to open the run")
        [agent] = warm_agents.alive()
        assert f"Tracking agent {agent} (this environment): serving 1 run now" in status()

        stop = [KEDRO, "azureml", "agent", "stop"]
        stopping = subprocess.Popen(stop, cwd=project.path, env=warm_agents.env(), stdout=subprocess.PIPE, text=True)
        wait_until(lambda: "stopping once no run is served" in status(), 120, "the agent to take the stop")
        assert warm_agents.alive() == {agent}  # asked to stop, and still serving the run: not stopped mid-run

        os.killpg(running.pid, signal.SIGINT)  # Ctrl-C ends the run; then the agent may go
        running.wait(timeout=120)
        said, _ = stopping.communicate(timeout=120)
    finally:
        for process in (running, stopping):
            if process is not None and process.poll() is None:
                process.kill()

    assert stopping.returncode == 0
    assert f"Tracking agent {agent} is serving 1 run; it stops once it ends" in said
    # Either it went within the command's wait, or (a slow machine) the command said it would go later.
    assert f"Stopped tracking agent {agent}" in said or f"Tracking agent {agent} is still serving" in said
    wait_until(lambda: not warm_agents.alive(), 120, "the agent to exit once its run ended")
    [run] = project.runs()
    assert run.info.status == "KILLED"  # the agent ended the run before it went
    expected = {f"node_{i}_metrics.m{k}": i * 10 + k for i in range(10) for k in range(5)}
    assert run.data.metrics == pytest.approx(expected)


def test_status_and_stop_remove_what_an_agent_killed_with_sigkill_left_behind(
    project: KedroProject, warm_agents: WarmAgents
) -> None:
    warm_agents.run(project)
    [agent] = warm_agents.alive()
    [key] = warm_agents.files.glob("*.key")
    os.kill(agent, signal.SIGKILL)  # nothing of it runs again: its socket and key stay
    wait_until(lambda: not warm_agents.alive(), 60, "the killed agent's process to end")
    assert key.exists()

    status = warm_agents.kedro(project, "azureml", "agent", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    said = status.stdout
    assert f"Removed the files of 1 tracking agent that had ended without removing them (killed): {key.stem}." in said
    assert "No tracking agent is running" in said and "No agent answered" not in said
    assert list(warm_agents.files.glob("*.key")) == []
    assert not Path(endpoint_for(key.stem, warm_agents.files).address).exists()  # beside the key, or moved

    warm_agents.run(project)  # a new agent; killed too, then `stop` finds only what it left
    [second] = warm_agents.alive()
    os.kill(second, signal.SIGKILL)
    wait_until(lambda: not warm_agents.alive(), 60, "the second killed agent's process to end")
    stopped = warm_agents.kedro(project, "azureml", "agent", "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "Removed the files of 1 tracking agent" in stopped.stdout
    assert "No tracking agent of this environment is running." in stopped.stdout
    assert list(warm_agents.files.glob("*.key")) == []
