"""``tracking.child_runs: namespace``: one ``kedro run`` is a parent run and a child run per top-level namespace,
asserted in a real SQLite store (warm shared agent, as shipped) and on a real ``mlflow server``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from typing import Any

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME, pending_journals
from tests.kedro_project import KEDRO, KedroProject, clean_env
from tests.tracking_server import RecordingProxy
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

# Two namespaces (`prep`, and `train` with a nested `train.fit`) and one node without any. Both steps' node
# code logs `node_code_metric` itself: the parent keeps the first step's under the plain key.
REGISTRY = """
import os

from kedro.pipeline import Pipeline, node


def own_metric(value):
    if not os.environ.get("PROBE_NO_NODE_MLFLOW"):
        import mlflow

        mlflow.log_metric("node_code_metric", value)


def clean():
    own_metric(1.0)
    return {"rows": 3.0}, {"kept": [1, 2, 3]}, [1, 2, 3]


def fit(table):
    own_metric(2.0)
    if os.environ.get("PROBE_MARKER"):  # wait here to be interrupted
        from pathlib import Path
        import time

        Path(os.environ["PROBE_MARKER"]).write_text("reached")
        time.sleep(3600)
    if os.environ.get("PROBE_FAIL_FIT"):
        raise ValueError("fit diverged")
    return {"acc": 0.9}


def score(table):
    return {"f1": 0.8}


def summarise(prep, train):
    return 1.5


def register_pipelines():
    nodes = Pipeline([
        node(clean, None, ["prep_metrics", "prep_chart", "table"], name="clean", namespace="prep"),
        node(fit, "table", "fit_metrics", name="fit", namespace="train.fit"),
        node(score, "table", "score_metrics", name="score", namespace="train"),
        node(summarise, ["prep_metrics", "fit_metrics"], "summary_metrics", name="summarise"),
    ])
    return {"__default__": nodes}
"""


@pytest.fixture
def namespaced(project: KedroProject) -> KedroProject:
    project.write("src/probe/pipeline_registry.py", REGISTRY)
    project.write("conf/base/azureml.yml", "tracking:\n  child_runs: namespace\n")
    project.seed_store()
    return project


def family(project: KedroProject, uri: str | None = None, experiment: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The one parent run and its children by step; fails unless every run of the experiment is one of them."""
    runs = project.runs(uri, experiment)
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 1, [run.data.tags for run in runs]
    [parent] = parents
    children = {run.data.tags["kedro.step"]: run for run in runs if run is not parent}
    assert len(children) == len(runs) - 1
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.experiment_id == parent.info.experiment_id
    return parent, children


@pytest.mark.parametrize("runner", ["SequentialRunner", "ParallelRunner"])
def test_one_parent_and_a_child_run_per_namespace(namespaced: KedroProject, runner: str) -> None:
    namespaced.run("--runner", runner)

    parent, children = family(namespaced)
    assert set(children) == {"prep", "train"}
    prep, train = children["prep"], children["train"]
    assert parent.info.status == prep.info.status == train.info.status == "FINISHED"
    assert prep.data.tags["kedro.nodes"] == "prep.clean"
    assert train.data.tags["kedro.nodes"] == "train.fit.fit,train.score"
    # What each namespace's nodes made, node code's own metric included, is in its child run only.
    assert prep.data.metrics == {"prep_metrics.rows": 3.0, "node_code_metric": 1.0}
    assert train.data.metrics == {"fit_metrics.acc": 0.9, "score_metrics.f1": 0.8, "node_code_metric": 2.0}
    client = namespaced.client()
    assert [a.path for a in client.list_artifacts(prep.info.run_id)] == ["prep_chart.json"]
    assert client.list_artifacts(train.info.run_id) == []
    assert client.list_artifacts(parent.info.run_id, "prep_chart.json") == []
    # The parent: its own node's metric, the params, and every child's metrics rolled up; the key both steps
    # logged is the first step's, the other's is `<step>.<key>`, and a tag says so.
    assert parent.data.params["model.alpha"] == "0.25"
    assert parent.data.tags["kedro.runner"] == runner
    first, second = ("prep", "train") if parent.data.metrics["node_code_metric"] == 1.0 else ("train", "prep")
    assert parent.data.metrics == {
        "summary_metrics": 1.5,
        "prep_metrics.rows": 3.0,
        "fit_metrics.acc": 0.9,
        "score_metrics.f1": 0.8,
        "node_code_metric": {"prep": 1.0, "train": 2.0}[first],
        f"{second}.node_code_metric": {"prep": 1.0, "train": 2.0}[second],
    }
    assert parent.data.tags["kedro.rollup.node_code_metric"].endswith(f"{second}'s is {second}.node_code_metric")


def test_with_threadrunner_each_nodes_records_and_files_go_to_its_child(namespaced: KedroProject) -> None:
    """The step is kept per thread; node code's own calls are left out (MLflow's active run is per process)."""
    namespaced.run("--runner", "ThreadRunner", env={**clean_env(), "PROBE_NO_NODE_MLFLOW": "1"})

    parent, children = family(namespaced)
    assert children["prep"].data.metrics == {"prep_metrics.rows": 3.0}
    assert children["train"].data.metrics == {"fit_metrics.acc": 0.9, "score_metrics.f1": 0.8}
    assert [a.path for a in namespaced.client().list_artifacts(children["prep"].info.run_id)] == ["prep_chart.json"]
    assert parent.data.metrics == {
        "summary_metrics": 1.5,
        "prep_metrics.rows": 3.0,
        "fit_metrics.acc": 0.9,
        "score_metrics.f1": 0.8,
    }


def test_a_failing_node_fails_its_child_and_the_parent(namespaced: KedroProject) -> None:
    result = namespaced.kedro("run", env={**_env(), "PROBE_FAIL_FIT": "1"})
    assert result.returncode != 0

    parent, children = family(namespaced)
    assert parent.info.status == "FAILED"
    assert "fit diverged" in parent.data.tags["kedro.error"]
    train = children["train"]
    assert train.info.status == "FAILED"
    assert "fit diverged" in train.data.tags["kedro.error"]
    assert all(child.info.status == "FAILED" for child in children.values())  # the children end as the run did


def test_ctrl_c_ends_the_parent_and_every_child_killed(namespaced: KedroProject) -> None:
    marker = namespaced.path / "reached"
    process = subprocess.Popen(
        [KEDRO, "run"],
        cwd=namespaced.path,
        env=clean_env(PROBE_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(marker.exists, 180, "the pipeline never reached the node that waits")
        wait_until(namespaced.runs, 180, "the tracking agent never opened the run")  # it has the messages
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    def ended() -> bool:
        runs = namespaced.runs()
        return len(runs) == 3 and all(run.info.status != "RUNNING" for run in runs)

    wait_until(ended, 120, "a run was left RUNNING")
    parent, children = family(namespaced)
    assert set(children) == {"prep", "train"}  # `train` started (its node was running), so it has its run
    assert {parent.info.status, *(child.info.status for child in children.values())} == {"KILLED"}
    assert children["prep"].data.metrics["prep_metrics.rows"] == 3.0


def test_without_the_setting_one_run_as_before(namespaced: KedroProject) -> None:
    namespaced.write("conf/base/azureml.yml", "tracking:\n  child_runs: none\n")
    namespaced.run()

    [run] = namespaced.runs()
    assert "kedro.step" not in run.data.tags
    assert run.data.metrics["node_code_metric"] == 2.0  # both nodes' own calls went to the one run
    assert run.data.metrics["fit_metrics.acc"] == 0.9


def test_a_bad_value_is_one_error_line_naming_key_file_and_values(namespaced: KedroProject) -> None:
    namespaced.write("conf/base/azureml.yml", "tracking:\n  child_runs: nodes\n")
    result = namespaced.kedro("run")

    assert result.returncode != 0
    output = result.stdout + result.stderr
    line = next(line for line in output.splitlines() if "tracking.child_runs" in line)
    assert "conf/base/azureml.yml" in line and "'none' or 'namespace'" in line and "nodes" in line
    assert namespaced.runs() == []


def _env() -> dict[str, str]:
    return clean_env()


def _on_server(project: KedroProject, url: str, experiment: str, child_runs: str, more: str = "") -> None:
    project.write(
        "conf/base/azureml.yml",
        f"tracking:\n  child_runs: {child_runs}\n  tracking_uri: {url}\n  experiment: {experiment}\n{more}",
    )


def test_the_requests_per_namespace_are_a_small_constant(
    namespaced: KedroProject, recording_proxy: RecordingProxy, request: pytest.FixtureRequest
) -> None:
    """The same run, counted by the proxy in front of a real `mlflow server`: with child runs and without."""
    counted = {}
    for child_runs in ("none", "namespace"):
        experiment = f"{request.node.name}-{child_runs}"
        # No timed send on a slow machine: the requests counted are the run's, not the machine's speed.
        _on_server(namespaced, recording_proxy.url, experiment, child_runs, "  flush_interval_seconds: 3600\n")
        before = len(recording_proxy.requests)
        namespaced.run(env={**clean_env(), "PROBE_NO_NODE_MLFLOW": "1"})
        counted[child_runs] = len(recording_proxy.requests) - before
    print(f"tracking requests per run: {counted}")  # the number the docs quote (run with -s to see it)
    parent, children = family(namespaced, recording_proxy.url, experiment)
    assert set(children) == {"prep", "train"} and parent.info.status == "FINISHED"
    # Per namespace: create, one batch (its metrics and tags), read its metrics, end; per run: read the
    # parent's metrics and one roll-up batch. Files are uploaded either way.
    assert counted["namespace"] <= counted["none"] + 4 * len(children) + 2, counted


def test_an_outage_is_replayed_by_sync_into_each_child_run_once(
    namespaced: KedroProject, mlflow_server: MlflowServer, request: pytest.FixtureRequest
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))  # a port nobody listens on, until the proxy does
    port = closed.getsockname()[1]
    closed.close()
    experiment = request.node.name
    _on_server(namespaced, f"http://127.0.0.1:{port}", experiment, "namespace")
    env = {**clean_env(), "PROBE_NO_NODE_MLFLOW": "1"}  # node code's own calls would go to the dead server
    result = namespaced.kedro("run", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]  # an outage never fails it
    assert "kedro azureml sync" in result.stdout + result.stderr
    assert len(pending_journals(namespaced.path / JOURNAL_DIRNAME)) == 1

    proxy = RecordingProxy(mlflow_server.port, port=port).start()  # the server is back
    try:
        first = namespaced.kedro("azureml", "sync", env=env)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        again = namespaced.kedro("azureml", "sync", env=env)
        assert again.returncode == 0
        parent, children = family(namespaced, proxy.url, experiment)
    finally:
        proxy.stop()
    assert set(children) == {"prep", "train"}
    assert parent.info.status == children["prep"].info.status == children["train"].info.status == "FINISHED"
    assert parent.data.params["model.alpha"] == "0.25"
    assert parent.data.metrics == {"summary_metrics": 1.5}  # journaled metrics are not rolled up
    assert children["prep"].data.metrics == {"prep_metrics.rows": 3.0}
    assert children["train"].data.metrics == {"fit_metrics.acc": 0.9, "score_metrics.f1": 0.8}
    assert children["train"].data.tags["kedro.nodes"] == "train.fit.fit,train.score"
    client = namespaced.client(mlflow_server.url)
    assert [a.path for a in client.list_artifacts(children["prep"].info.run_id)] == ["prep_chart.json"]
    for child, key in [("prep", "prep_metrics.rows"), ("train", "fit_metrics.acc")]:  # once, not twice
        assert len(client.get_metric_history(children[child].info.run_id, key)) == 1
    assert pending_journals(namespaced.path / JOURNAL_DIRNAME) == []
