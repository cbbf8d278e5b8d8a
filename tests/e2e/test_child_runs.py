"""``tracking.child_runs: namespace``: one ``kedro run`` is a parent run and a child run per top-level namespace,
asserted in a real SQLite store (warm shared agent, as shipped) and on a real ``mlflow server``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kedro_project import KedroProject

pytestmark = pytest.mark.slow

# Two namespaces (`prep`, and `train` with a nested `train.fit`) and one node without any. Both steps' node
# code logs `node_code_metric` itself: the parent keeps the first step's under the plain key.
REGISTRY = """
import os

from kedro.pipeline import Pipeline, node


def clean():
    import mlflow

    mlflow.log_metric("node_code_metric", 1.0)
    return {"rows": 3.0}, {"kept": [1, 2, 3]}, [1, 2, 3]


def fit(table):
    import mlflow

    mlflow.log_metric("node_code_metric", 2.0)
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


def family(project: KedroProject, uri: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The one parent run and its children by step; fails unless every run of the experiment is one of them."""
    runs = project.runs(uri)
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
    from tests.kedro_project import clean_env

    return clean_env()
