"""Real Kedro projects for tests: made once with ``kedro new``, copied per test, run with the CLI.

Runs go through ``kedro run`` in a subprocess, as a user would run them, so each test gets a
fresh interpreter (Kedro's project settings are process-global) and the real entry points.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KEDRO = str(Path(sys.executable).with_name("kedro"))

PIPELINES = """
import os
import time
from pathlib import Path

from kedro.pipeline import Pipeline, node
from kedro.runner import ParallelRunner


def evaluate(model):
    return {"accuracy": 0.5 + model["alpha"], "loss": {"train": 0.2, "test": 0.3}}


def curve(metrics):
    return [0.1, 0.2, 0.3, metrics["accuracy"]]


def score():
    return 0.42


def explode(model, score):
    raise ValueError("boom: the model diverged")


def wide(index):
    return {f"m{k}": index * 10 + k for k in range(5)}


def hang(*metrics):
    # Tell the test every metric before this node was produced, then wait to be interrupted: longer
    # than any wait of the test (a node that returned would fail the run before the signal came).
    Path(os.environ["PROBE_MARKER"]).write_text("reached")
    time.sleep(3600)


def hang_rewrapped(*metrics):
    # Node code (or a library) that turns the Ctrl-C into an error of its own.
    try:
        hang()
    except KeyboardInterrupt as interrupt:
        raise RuntimeError("the solver was interrupted") from interrupt


def train_with_mlflow(index):
    import os

    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    # Autologging's models cost a subprocess each (MLflow infers their requirements): one test asks for them.
    mlflow.sklearn.autolog(log_models=os.environ.get("PROBE_AUTOLOG_MODELS") == "1")
    LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    mlflow.log_metric(f"node_own_{index}", index)
    return {"m": index}


def mlflow_imported():
    import sys

    return {"mlflow": float("mlflow" in sys.modules), "sqlalchemy": float("sqlalchemy" in sys.modules)}


def log_from_node():
    import mlflow

    mlflow.log_metric("node_own", 7.0)
    return 1.0


def nested_child():
    import mlflow

    with mlflow.start_run(nested=True, run_name="child"):
        mlflow.log_metric("child_metric", 3.0)
    return 1.0


class FourWorkers(ParallelRunner):
    def __init__(self, is_async=False):
        super().__init__(max_workers=4, is_async=is_async)


def register_pipelines():
    training = Pipeline([
        node(evaluate, "params:model", "model_metrics", name="evaluate"),
        node(curve, "model_metrics", "curve_metrics", name="curve"),
        node(score, None, "score_metrics", name="score"),
    ])
    failing = Pipeline([node(score, None, "score_metrics", name="score"),
                        node(explode, ["params:model", "score_metrics"], "never", name="explode")])
    many = Pipeline([node(wide, f"params:index_{i}", f"node_{i}_metrics", name=f"n{i}") for i in range(100)])
    metrics = [f"node_{i}_metrics" for i in range(10)]
    interrupted = Pipeline(
        [node(wide, f"params:index_{i}", f"node_{i}_metrics", name=f"n{i}") for i in range(10)]
        + [node(hang, metrics, "never", name="hang")]
    )
    interrupted_rewrapped = Pipeline(interrupted.nodes[:-1] + [node(hang_rewrapped, metrics, "never", name="hang")])
    node_mlflow = Pipeline(
        [node(train_with_mlflow, f"params:index_{i}", f"train_{i}_metrics", name=f"t{i}") for i in range(4)]
    )
    return {
        "__default__": training,
        "training": training,
        "failing": failing,
        "many": many,
        "interrupted": interrupted,
        "interrupted_rewrapped": interrupted_rewrapped,
        "node_mlflow": node_mlflow,
        "imports": Pipeline([node(mlflow_imported, None, "imported_metrics", name="imported")]),
        "node_log_metric": Pipeline([node(log_from_node, None, "own_metrics", name="own")]),
        "node_nested": Pipeline([node(nested_child, None, "nested_metrics", name="nested")]),
        "node_mlflow_failing": node_mlflow + Pipeline([node(explode, ["params:model", "train_0_metrics"], "never")]),
    }
"""

PARAMETERS = """\
model:
  alpha: 0.25
  layers: [8, 4]
  optimizer:
    name: adam
    lr: 0.01
seed: 42
""" + "".join(f"index_{i}: {i}\n" for i in range(100))


# Variables that would point a subprocess's tracking at somebody else's run or workspace.
_LEAKY_PREFIXES = ("MLFLOW_", "AZUREML_", "KEDRO_AZUREML_MLFLOW")
_LEAKY_NAMES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a ``kedro`` subprocess: no telemetry, no leaked tracking settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_LEAKY_PREFIXES) and key not in _LEAKY_NAMES
    }
    env.update(
        KEDRO_DISABLE_TELEMETRY="true",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
        COLUMNS="400",
    )
    env.update(extra)
    return env


def run_kedro(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``kedro <args>`` in ``cwd`` in a subprocess, as a user types it: the one way tests run Kedro.

    ``env`` is the whole environment (default :func:`clean_env`); ``extra_env`` is added to it. With
    ``check``, a non-zero exit fails the test with the command's output.
    """
    full_env = {**(env if env is not None else clean_env()), **(extra_env or {})}
    result = subprocess.run([KEDRO, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(
            f"`kedro {' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result


@dataclass
class KedroProject:
    """A throw-away project and the commands a user would type in it."""

    path: Path
    package: str = "probe"

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def kedro(
        self, *args: str, env: dict[str, str] | None = None, timeout: int = 300
    ) -> subprocess.CompletedProcess[str]:
        return run_kedro(args, self.path, env=env, timeout=timeout)

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_kedro(("run", *args), self.path, env=env, check=True)

    @property
    def store_uri(self) -> str:
        return f"sqlite:///{(self.path / 'mlflow.db').as_posix()}"

    def seed_store(self) -> None:
        """Start the project's ``mlflow.db`` migrated and empty, as its first run would make it (a copy of one
        migrated store, ``tests/sqlite_store.py``): for tests about what a run tracks, not about making a store."""
        from tests.sqlite_store import migrated_sqlite_uri

        migrated_sqlite_uri(self.path)

    def client(self, uri: str | None = None) -> Any:
        """A client on the project's store. Its first use may create the store's tables, so it takes the
        plugin's store lock: a test polling while a run's agent still creates ``mlflow.db`` must not race it."""
        from mlflow.tracking import MlflowClient

        from kedro_azureml_mlflow.tracking.client.store_lock import store_creation_lock

        with store_creation_lock(uri or self.store_uri):
            return MlflowClient(tracking_uri=uri or self.store_uri)

    def runs(self, uri: str | None = None, experiment: str | None = None) -> list[Any]:
        client = self.client(uri)
        found = client.get_experiment_by_name(experiment or self.package)
        return client.search_runs([found.experiment_id]) if found else []


@pytest.fixture(scope="session")
def kedro_new_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project from Kedro's own ``kedro new`` (made once), with the test pipelines."""
    root = tmp_path_factory.mktemp("kedro-new")
    result = subprocess.run(
        [KEDRO, "new", "--name", "probe", "--tools", "none", "--example", "n"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = KedroProject(root / "probe")
    project.write("src/probe/pipeline_registry.py", PIPELINES)
    project.write("conf/base/parameters.yml", PARAMETERS)
    return project.path


@pytest.fixture
def project(kedro_new_project: Path, tmp_path: Path) -> KedroProject:
    """A fresh copy of the test project for one test."""
    target = tmp_path / "probe"
    shutil.copytree(kedro_new_project, target)
    return KedroProject(target)
