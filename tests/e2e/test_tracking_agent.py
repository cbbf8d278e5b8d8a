"""The tracking agent end to end: interrupted runs, node code's own MLflow calls, workers, a dead server.

Every ``kedro run`` here is a real subprocess tracking into a real SQLite store or a real
``mlflow server`` (behind the recording proxy where requests are counted).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME, load_journal, pending_journals
from kedro_azureml_mlflow.tracking.journal.kept_files import kept_directory
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import ArtifactUpload, RunEnd
from tests.artifact_project import use_artifact_pipeline
from tests.kedro_project import KEDRO, KedroProject, clean_env
from tests.tracking_server import Hold, RecordingProxy
from tests.waiting import wait_until
from tests.warm_agents import WarmAgents

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _seeded_store(project: KedroProject) -> None:
    """Runs here track into the project's own store or a server: it starts migrated (no test is about making it)."""
    project.seed_store()


FOUR_WORKERS = "probe.pipeline_registry.FourWorkers"


def track_through(project: KedroProject, proxy: RecordingProxy, request: pytest.FixtureRequest, settings: str) -> str:
    """Track through the recording proxy into an experiment of the test's own (its name), with more ``settings``."""
    experiment = f"{request.node.name}-{os.getpid()}"
    project.write(
        "conf/base/azureml.yml", f"tracking:\n  tracking_uri: {proxy.url}\n  experiment: {experiment}\n{settings}"
    )
    return experiment


def ended_run(project: KedroProject, uri: str | None = None, experiment: str | None = None) -> Any:
    """The experiment's one run once it has ended, else ``None`` (to wait on)."""
    runs = project.runs(uri=uri, experiment=experiment)
    return runs[0] if len(runs) == 1 and runs[0].info.status != "RUNNING" else None


@pytest.mark.parametrize(
    ("how", "pipeline"),
    [
        ("SIGINT", "interrupted"),
        ("SIGTERM", "interrupted"),
        ("SIGKILL", "interrupted"),
        ("SIGINT", "interrupted_rewrapped"),  # the node turns the Ctrl-C into an error of its own
    ],
    ids=["SIGINT", "SIGTERM", "SIGKILL", "SIGINT-rewrapped"],
)
def test_an_interrupted_run_ends_killed_with_every_value_produced_before(
    project: KedroProject, how: str, pipeline: str
) -> None:
    marker = project.path / "reached"
    process = subprocess.Popen(
        [KEDRO, "run", "--pipeline", pipeline],
        cwd=project.path,
        env=clean_env(PROBE_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(marker.exists, 180, "the pipeline never reached its last node")
        # A kill saves only what the pipeline had handed over. On a slow machine the last node can come
        # before the link has reached the (cold) agent; the run existing means the agent has its messages,
        # which the link sends in one go once connected.
        wait_until(project.runs, 180, "the tracking agent never opened the run")
        if how == "SIGINT":
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        else:
            os.kill(process.pid, getattr(signal, how))
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    run = wait_until(lambda: ended_run(project), 120, "the run was left RUNNING")
    assert run.info.status == "KILLED"
    expected = {f"node_{i}_metrics.m{k}": i * 10 + k for i in range(10) for k in range(5)}
    assert run.data.metrics == pytest.approx(expected)
    assert pending_journals(project.path / JOURNAL_DIRNAME) == []  # the server was up: all in the store

    synced = project.kedro("azureml", "sync")
    assert "Nothing to send" in synced.stdout
    history = project.client().get_metric_history(run.info.run_id, "node_3_metrics.m4")
    assert [m.value for m in history] == [34]  # exactly once


def test_the_pipeline_process_never_imports_mlflow(project: KedroProject) -> None:
    project.run("--pipeline", "imports")
    [run] = project.runs()  # tracked all the same, by the agent
    assert run.data.metrics == {"imported_metrics.mlflow": 0.0, "imported_metrics.sqlalchemy": 0.0}


@pytest.mark.parametrize("runner", ["SequentialRunner", "ThreadRunner", FOUR_WORKERS])
def test_node_code_logs_into_the_plugins_run(project: KedroProject, runner: str) -> None:
    with_models = runner == "SequentialRunner"  # autologging's models, with one runner (a subprocess each)
    project.run(
        "--pipeline", "node_mlflow", "--runner", runner, env=clean_env(PROBE_AUTOLOG_MODELS=str(int(with_models)))
    )

    [run] = project.runs()  # exactly one run: no second one in the project's experiment…
    default = project.client().get_experiment_by_name("Default")
    assert default is None or project.client().search_runs([default.experiment_id]) == []  # …nor in "Default"
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    for i in range(4):
        assert metrics[f"train_{i}_metrics.m"] == i  # the plugin's, from the node's output
        assert metrics[f"node_own_{i}"] == i  # the node's own mlflow.log_metric
    assert "training_score" in metrics  # mlflow.sklearn.autolog()
    assert run.data.params["model.alpha"] == "0.25"
    if with_models:  # MLflow 3's logged models, one per fit, made from the plugin's run
        models = project.client().search_logged_models(experiment_ids=[run.info.experiment_id])
        assert [model.source_run_id for model in models] == [run.info.run_id] * 4


def test_a_nested_run_from_node_code_is_a_child_in_the_plugins_experiment(project: KedroProject) -> None:
    project.run("--pipeline", "node_nested")

    client = project.client()
    runs = project.runs()  # the project's experiment
    [child] = [run for run in runs if run.info.run_name == "child"]
    [parent] = [run for run in runs if run.info.run_name != "child"]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.metrics == {"child_metric": 3.0} and child.info.status == "FINISHED"
    assert parent.info.status == "FINISHED"
    default = client.get_experiment_by_name("Default")
    assert default is None or client.search_runs([default.experiment_id]) == []  # not in "Default"


TWO_SESSIONS = """
import sys
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

for path in map(Path, sys.argv[1:]):  # one Python process, as a notebook runs one project after another
    bootstrap_project(path)
    with KedroSession.create(project_path=path) as session:
        session.run(pipeline_name="node_log_metric")
"""


def test_a_second_projects_session_in_the_same_process_tracks_into_its_own_store(
    project: KedroProject, kedro_new_project: Path, tmp_path: Path
) -> None:
    other = KedroProject(tmp_path / "other" / "probe")
    shutil.copytree(kedro_new_project, other.path)
    subprocess.run(
        [sys.executable, "-c", TWO_SESSIONS, str(project.path), str(other.path)],
        cwd=tmp_path,
        env=clean_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    for each in (project, other):  # node code set MLflow's tracking URI in the first session: undone after it
        [run] = each.runs()
        assert run.data.metrics["node_own"] == 7.0


def test_the_plugins_end_status_wins_over_node_code(project: KedroProject) -> None:
    result = project.kedro("run", "--pipeline", "node_mlflow_failing")
    assert result.returncode != 0
    [run] = project.runs()
    assert run.info.status == "FAILED"  # not FINISHED, as MLflow would end a run node code had started
    assert run.data.metrics["node_own_0"] == 0


def test_four_parallel_workers_share_one_run_in_few_requests(
    project: KedroProject, mlflow_server: MlflowServer, recording_proxy: RecordingProxy, request: pytest.FixtureRequest
) -> None:
    # Timed flushes add one request per doubling of the run's length (5, 15, 35, 75 s...): a loaded CI
    # machine saw one more than a quiet one. Without them the count is the batching's alone.
    experiment = track_through(project, recording_proxy, request, "  flush_interval_seconds: 3600\n")
    project.run("--pipeline", "many", "--runner", FOUR_WORKERS)
    observed = [(r.method, r.path.split("?")[0].rsplit("/", 2)[-2:]) for r in recording_proxy.requests]

    [run] = project.runs(uri=mlflow_server.url, experiment=experiment)
    assert run.data.tags["kedro.runner"] == "FourWorkers"
    assert run.data.metrics == pytest.approx(
        {f"node_{i}_metrics.m{k}": i * 10 + k for i in range(100) for k in range(5)}
    )
    # Experiment looked up and created, run created; 105 params (100 a request), 500 metric values
    # (250 a request), each sent the moment a full request's worth was pending; the run ended.
    assert [path for _, path in observed] == [
        ["experiments", "get-by-name"],
        ["experiments", "create"],
        ["runs", "create"],
        *[["runs", "log-batch"]] * 4,
        ["runs", "update"],
    ]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for conn in held:
        conn.close()


def test_a_server_that_never_answers_delays_the_end_by_at_most_max_wait(
    project: KedroProject, silent_server: str
) -> None:
    # MLflow's retry settings are left at their defaults (minutes per request): only max_wait bounds the end.
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: {silent_server}\n  max_wait_seconds: 5\n")
    result = project.kedro("run", timeout=90)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "kedro azureml sync" in output
    assert "MLflow: tracked" not in output and "MLflow: this run was not tracked" in output  # no run, no "tracked"

    records = [
        json.loads(line)
        for path in pending_journals(project.path / JOURNAL_DIRNAME)
        for line in path.read_text().splitlines()
    ]
    params = {key for record in records for key, _ in record.get("params", [])}
    metrics = {key for record in records for key, *_ in record.get("metrics", [])}
    assert {"model.alpha", "seed"} <= params
    assert {"model_metrics.accuracy", "score_metrics", "curve_metrics"} <= metrics
    assert [record["end"] for record in records if "end" in record] == ["FINISHED"]


def test_a_run_interrupted_before_it_existed_says_so_not_killed(project: KedroProject, silent_server: str) -> None:
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: {silent_server}\n  max_wait_seconds: 5\n")
    marker = project.path / "reached"
    process = subprocess.Popen(
        [KEDRO, "run", "--pipeline", "interrupted"],
        cwd=project.path,
        env=clean_env(PROBE_MARKER=str(marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(marker.exists, 180, "the pipeline never reached its last node")
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert "marked KILLED" not in output  # there was no run to mark
    assert "MLflow: interrupted before the run was opened" in output and "kedro azureml sync" in output
    [journal] = pending_journals(project.path / JOURNAL_DIRNAME)  # what it had, for sync
    assert [record.end for _, record in load_journal(journal).records if isinstance(record, RunEnd)] == ["KILLED"]


@pytest.mark.parametrize("runner", ["SequentialRunner", FOUR_WORKERS])
def test_node_code_is_journaled_into_the_plugins_run_when_it_never_came(
    project: KedroProject, silent_server: str, runner: str
) -> None:
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: {silent_server}\n  max_wait_seconds: 5\n")
    # The agent gives up on the run once its own request bounds run out (20 s per attempt, 3 retries: about
    # 80 s); a user's lower MLflow limits are kept, and they make the same give-up come in seconds here.
    quick = clean_env(MLFLOW_HTTP_REQUEST_TIMEOUT="2", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    result = project.kedro("run", "--pipeline", "node_log_metric", "--runner", runner, env=quick, timeout=180)
    output = " ".join((result.stdout + result.stderr).split())  # rich wraps long lines
    assert result.returncode == 0, output
    assert "the plugin's run could not be opened" in output and "journaled into it" in output
    # The node's metric waits in the plugin's journal with the plugin's own, for the one run `sync` makes;
    # it used to go to a run of its own in MLflow's default store, in the project's folder.
    journals = pending_journals(project.path / JOURNAL_DIRNAME)  # a worker that cannot reach the agent keeps its own
    records = [record for journal in journals for _, record in load_journal(journal).records]
    metrics = {key for record in records if isinstance(record, Batch) for key, *_ in record.metrics}
    assert {"node_own", "own_metrics"} <= metrics
    client = project.client()  # MLflow's default store, where that run went (the project's mlflow.db)
    assert client.search_runs([experiment.experiment_id for experiment in client.search_experiments()]) == []


def test_saving_a_model_does_not_wait_for_a_run_the_server_never_gives(
    project: KedroProject, silent_server: str
) -> None:
    # Saving the model imports MLflow on the plugin's own thread. It used to ask for the run there and wait
    # max_wait for it (saying node code's calls would go to a run of their own), before the end waited
    # max_wait again: twice the one budget. The end's delay itself is measured in benchmarks/silent_end.py.
    use_artifact_pipeline(project, tracking_extra=f"  tracking_uri: {silent_server}\n  max_wait_seconds: 5\n")
    result = project.kedro("run", timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "node code" not in output  # nothing asked for the run: no node code uses MLflow here

    [journal] = pending_journals(project.path / JOURNAL_DIRNAME)
    artifacts = [record.artifact for _, record in load_journal(journal).records if isinstance(record, ArtifactUpload)]
    models = [artifact for artifact in artifacts if artifact.label == "model"]
    assert [model.artifact_path for model in models] == ["model"]  # journaled, with its copy, for sync
    assert (kept_directory(journal) / models[0].local_path / "MLmodel").is_file()


def test_a_run_the_server_creates_after_the_agent_gave_up_is_the_run_sync_fills(
    project: KedroProject, mlflow_server: MlflowServer, recording_proxy: RecordingProxy, request: pytest.FixtureRequest
) -> None:
    experiment = track_through(project, recording_proxy, request, "  max_wait_seconds: 5\n")
    # The server creates the run at once but answers only after `kedro run` has given up and journaled.
    hold = recording_proxy.hold = Hold(lambda r: r.path.split("?")[0].endswith("/runs/create"))
    try:
        result = project.kedro("run", timeout=120)
    finally:
        hold.released.set()
    assert result.returncode == 0, result.stdout + result.stderr
    assert hold.held.is_set() and "kedro azureml sync" in result.stdout + result.stderr

    late = wait_until(
        lambda: ended_run(project, mlflow_server.url, experiment), 120, "the run created late was left RUNNING"
    )
    assert late.info.status == "KILLED" and late.data.metrics == {}  # the agent ended it, empty

    synced = project.kedro("azureml", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    [run] = project.runs(uri=mlflow_server.url, experiment=experiment)  # the late run, not a second one
    assert run.info.run_id == late.info.run_id and run.info.status == "FINISHED"
    assert {"model_metrics.accuracy", "score_metrics", "curve_metrics"} <= set(run.data.metrics)
    assert {"model.alpha", "seed"} <= set(run.data.params)


AGENT = re.compile(r"tracking requests; (warm )?tracking agent (\d+)\)")


def test_a_warm_agent_serves_the_next_run_and_can_be_turned_off(project: KedroProject, warm_agents: WarmAgents) -> None:
    # Agents of this test's own (the test process's shared one is warm already).
    first = AGENT.search(warm_agents.run(project).stdout)
    second = AGENT.search(warm_agents.run(project).stdout)
    off = AGENT.search(warm_agents.run(project, KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE="0").stdout)
    assert first and second and off
    assert first.group(1) is None and second.group(1) == "warm "
    assert second.group(2) == first.group(2)  # the same agent process served both runs
    assert off.group(2) != first.group(2) and off.group(1) is None
    runs = project.runs()
    assert len(runs) == 3 and {run.info.status for run in runs} == {"FINISHED"}
    assert all(run.data.metrics["score_metrics"] == pytest.approx(0.42) for run in runs)
