"""The warm tracking agent as shipped: what it keeps between runs must never outlive what it stands for.

Every run here is a real ``kedro run`` subprocess with the agent kept alive between runs (the
default), tracking into a real SQLite store or a real ``mlflow server``; each test stops its agents.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kedro_azureml_mlflow.tracking.wire.channel import endpoint_for
from tests.kedro_project import KedroProject
from tests.tracking_server import Hold, RecordingProxy
from tests.waiting import wait_until
from tests.warm_agents import WarmAgents

pytestmark = pytest.mark.slow

FOUR_WORKERS = "probe.pipeline_registry.FourWorkers"

# A node that says when it is about to use MLflow, then logs a metric of its own.
LATE_RUN_PIPELINE = """

def log_when_told():
    Path(os.environ["PROBE_MARKER"]).write_text("asking")
    import mlflow

    mlflow.log_metric("node_own", 7.0)
    return 1.0


_registered = register_pipelines


def register_pipelines():
    late = Pipeline([node(log_when_told, None, "own_metrics", name="own"), node(score, None, "score_metrics")])
    return {**_registered(), "late": late}
"""


def only_run(project: KedroProject, uri: str | None = None, experiment: str | None = None) -> Any:
    runs = project.runs(uri=uri, experiment=experiment)
    assert len(runs) == 1, [(r.info.run_id, r.info.status, r.data.metrics) for r in runs]
    return runs[0]


def runs_in_file(database: Path) -> list[tuple[str, str, float]]:
    """(run id, status, score) of every run in the SQLite file, read with sqlite3 itself.

    Not with an ``MlflowClient``: MLflow keeps a store per URI for the whole process, and this
    process's would go on reading the deleted file just as the agent's went on writing to it.
    """
    assert database.exists(), f"no {database.name} was made"
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute(
            "SELECT runs.run_uuid, runs.status, metrics.value FROM runs LEFT JOIN metrics "
            "ON metrics.run_uuid = runs.run_uuid AND metrics.key = 'score_metrics'"
        ).fetchall()


def test_a_deleted_store_is_made_afresh_by_the_warm_agent(
    project: KedroProject, warm_agents: WarmAgents, kedro_new_project: Path
) -> None:
    database = project.path / "mlflow.db"
    warm_agents.run(project)
    [agent] = warm_agents.alive()
    [(first, status, score)] = runs_in_file(database)
    assert (status, score) == ("FINISHED", pytest.approx(0.42))

    database.unlink()  # start again from a clean store
    warm_agents.run(project)
    assert warm_agents.alive() == {agent}  # served warm, by the agent that had the old file open
    [(second, status, score)] = runs_in_file(database)  # a new mlflow.db, holding the second run
    assert second != first and (status, score) == ("FINISHED", pytest.approx(0.42))

    shutil.rmtree(project.path)  # the project made again at the same path
    shutil.copytree(kedro_new_project, project.path)
    warm_agents.run(project)
    assert warm_agents.alive() == {agent}
    [(third, status, score)] = runs_in_file(database)
    assert third not in {first, second} and (status, score) == ("FINISHED", pytest.approx(0.42))


@pytest.mark.parametrize("runner", ["SequentialRunner", FOUR_WORKERS])
def test_node_code_waits_for_a_late_plugin_run_instead_of_opening_its_own(
    project: KedroProject,
    warm_agents: WarmAgents,
    recording_proxy: RecordingProxy,
    request: pytest.FixtureRequest,
    runner: str,
) -> None:
    experiment = f"{request.node.name}-{os.getpid()}"
    max_wait = 5
    project.write(
        "conf/base/azureml.yml",
        f"tracking:\n  tracking_uri: {recording_proxy.url}\n  experiment: {experiment}\n"
        f"  max_wait_seconds: {max_wait}\n",
    )
    with (project.path / "src/probe/pipeline_registry.py").open("a") as registry:
        registry.write(LATE_RUN_PIPELINE)
    marker = project.path / "asking"
    # The server creates the plugin's run but answers late, as a loaded machine's cold agent was late:
    # node code asks for the run and must still be waiting when it comes, longer than max_wait.
    hold = recording_proxy.hold = Hold(lambda r: r.path.split("?")[0].endswith("/runs/create"))

    def release_late() -> None:
        if hold.held.wait(180) and wait_until(marker.exists, 180, "the node to ask for the run"):
            time.sleep(max_wait + 3)  # the delay on purpose: past what node code used to wait
        hold.released.set()

    releaser = threading.Thread(target=release_late, daemon=True)
    releaser.start()
    try:
        warm_agents.run(project, "--pipeline", "late", "--runner", runner, PROBE_MARKER=str(marker))
    finally:
        hold.released.set()
        releaser.join(200)

    run = only_run(project, recording_proxy.url, experiment)  # one kedro run, one MLflow run
    assert run.info.status == "FINISHED"
    assert run.data.metrics["node_own"] == 7.0  # the node's own call went into the plugin's run
    assert run.data.metrics["score_metrics"] == pytest.approx(0.42)  # beside the plugin's values
    assert not (project.path / "mlflow.db").exists()  # no run of the node's own in MLflow's default store


SECRET = "s3cret-Pa55word"


def test_the_agent_log_never_holds_the_tracking_password(project: KedroProject, warm_agents: WarmAgents) -> None:
    refused = socket.create_server(("127.0.0.1", 0))  # a port nobody listens on once closed
    port = refused.getsockname()[1]
    refused.close()
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: http://alice:{SECRET}@127.0.0.1:{port}\n")
    result = warm_agents.run(project)
    assert "kedro azureml sync" in result.stdout + result.stderr  # not sent: the agent logged why

    logs = "".join(path.read_text(errors="replace") for path in warm_agents.files.glob("*.log*"))
    assert f"alice:<redacted>@127.0.0.1:{port}" in logs  # the server named, as MLflow's error names it…
    assert SECRET not in logs  # …without its password
    assert SECRET not in result.stdout + result.stderr


# What the agents of a user share, a bounded set: their log (and the one before it), the lock under
# which one starts, the store locks (one of a fixed few for every store), and the empty store every new
# mlflow.db is copied from (one, for the installed MLflow) with its lock.
SHARED_FILES = re.compile(
    r"agent\.log(\.1)?|spawn\.lock|store-\d\d\.lock|store-template\.lock|empty-store-mlflow-.+\.db"
)


def test_an_agent_leaves_nothing_behind_when_it_exits(project: KedroProject, warm_agents: WarmAgents) -> None:
    warm_agents.files.mkdir(mode=0o700)
    old_log = warm_agents.files / "agent.log"
    old_log.write_text("an earlier agent's line\n" * 50_000)  # 1.2 MB: past the cap

    warm_agents.run(project, KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE="2")  # kept alive, briefly
    idle = {path.stem for path in warm_agents.files.glob("*.key")}
    assert len(idle) == 1
    wait_until(lambda: not warm_agents.alive(), 120, "the idle agent to exit")

    warm_agents.run(project, "--pipeline", "training")  # another agent (its own keep-alive), then `kill`
    [agent] = warm_agents.alive()
    killed = {path.stem for path in warm_agents.files.glob("*.key")}
    os.kill(agent, signal.SIGTERM)
    wait_until(lambda: not warm_agents.alive(), 120, "the killed agent to exit")

    left = sorted(path.name for path in warm_agents.files.iterdir())
    assert [name for name in left if not SHARED_FILES.fullmatch(name)] == []
    sockets = [Path(endpoint_for(name, warm_agents.files).address) for name in idle | killed]
    assert all(path.parent.name == f"kam-{os.getuid()}" for path in sockets)  # moved: the test's folder is deep
    assert [path for path in sockets if path.exists()] == []
    assert (warm_agents.files / "agent.log.1").read_text().startswith("an earlier agent's line")
    assert old_log.stat().st_size < 1_000_000  # the log was rotated, not grown on
    assert [path.name for path in project.path.iterdir() if path.name.endswith(".lock")] == []  # nothing for git


def test_a_deleted_experiment_is_said_before_the_pipeline_runs_and_can_be_restored(
    project: KedroProject, warm_agents: WarmAgents
) -> None:
    warm_agents.run(project)
    experiment = project.client().get_experiment_by_name("probe")
    project.client().delete_experiment(experiment.experiment_id)  # in the MLflow UI, or `mlflow experiments delete`

    result = warm_agents.run(project)
    lines = (result.stdout + result.stderr).splitlines()
    said = [i for i, line in enumerate(lines) if "experiment 'probe' is deleted" in line]
    assert len(said) == 1, "\n".join(lines[-40:])  # said once…
    first_node = next(i for i, line in enumerate(lines) if "Completed node" in line or "Running node" in line)
    assert said[0] < first_node  # …before the pipeline runs (the agent is warm)
    assert f"mlflow experiments restore --experiment-id {experiment.experiment_id}" in " ".join(lines)
    assert "kedro azureml sync" in " ".join(lines)
    from mlflow.entities import ViewType

    everything = project.client().search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    assert len(everything) == 1  # nothing went into it

    project.write("conf/base/azureml.yml", "tracking:\n  restore_deleted_experiment: true\n")  # still deleted
    result = warm_agents.run(project)
    assert "was deleted; restoring it" in result.stdout + result.stderr
    assert project.client().get_experiment(experiment.experiment_id).lifecycle_stage == "active"
    synced = warm_agents.kedro(project, "azureml", "sync")  # the run journaled while it was deleted
    assert synced.returncode == 0, synced.stdout + synced.stderr
    runs = project.client().search_runs([experiment.experiment_id])
    assert len(runs) == 3 and {run.info.status for run in runs} == {"FINISHED"}
