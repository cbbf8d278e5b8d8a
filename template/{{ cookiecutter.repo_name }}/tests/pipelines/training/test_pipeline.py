"""Tests of the ``training`` pipeline: its nodes on the example data, and the whole
pipeline run through Kedro as ``kedro run`` would, with the project's own configuration."""

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from {{ cookiecutter.python_package }}.pipelines.training import create_pipeline
from {{ cookiecutter.python_package }}.pipelines.training.nodes import (
    compute_training_curve,
    evaluate_model,
    split_data,
    train_model,
)

PROJECT_PATH = Path(__file__).resolve().parents[3]
SPLIT = {"target_column": "species", "test_size": 0.2, "random_state": 9}
MODEL = {"C": 1.0, "max_iter": 200, "curve_checkpoints": [1, 3, 21]}
GOOD_ACCURACY = 0.9  # iris has three well separated classes


@pytest.fixture
def iris() -> pd.DataFrame:
    return pd.read_csv(PROJECT_PATH / "data" / "01_raw" / "iris.csv")


def test_split_is_stratified_and_keeps_every_row(iris):
    X_train, X_test, y_train, y_test = split_data(iris, SPLIT)

    assert len(X_train) + len(X_test) == len(iris)
    assert len(X_test) == round(len(iris) * SPLIT["test_size"])
    assert "species" not in X_train.columns
    assert set(y_test.value_counts()) == {len(y_test) // 3}  # each class equally


def test_model_learns_the_classes(iris):
    X_train, X_test, y_train, y_test = split_data(iris, SPLIT)
    metrics = evaluate_model(train_model(X_train, y_train, MODEL), X_test, y_test)

    assert set(metrics) == {"accuracy", "f1_macro", "precision_macro", "log_loss"}
    assert metrics["accuracy"] > GOOD_ACCURACY
    assert all(isinstance(value, float) for value in metrics.values())


def test_training_curve_has_one_step_per_checkpoint(iris):
    X_train, X_test, y_train, y_test = split_data(iris, SPLIT)
    curve = compute_training_curve(X_train, y_train, X_test, y_test, MODEL)

    assert len(curve) == len(MODEL["curve_checkpoints"])
    assert all(0.0 <= accuracy <= 1.0 for accuracy in curve)
    assert curve[-1] >= curve[0]  # more solver iterations do not make it worse


def test_pipeline_gives_the_metrics_and_the_figure_the_plugin_logs(iris):
    catalog = DataCatalog(
        {
            "iris": MemoryDataset(iris),
            "params:split": MemoryDataset(SPLIT),
            "params:model": MemoryDataset(MODEL),
        }
    )
    outputs = SequentialRunner().run(create_pipeline(), catalog)

    assert set(outputs) == {
        "model_metrics",
        "training_curve_metrics",
        "confusion_matrix_plot",
    }
    figure = outputs["confusion_matrix_plot"].load()
    assert [axes.get_xlabel() for axes in figure.axes] == ["Predicted label"]
    assert outputs["model_metrics"].load()["accuracy"] > GOOD_ACCURACY
    curve = outputs["training_curve_metrics"].load()
    assert len(curve) == len(MODEL["curve_checkpoints"])


def test_kedro_run_with_the_project_configuration():
    store = PROJECT_PATH / "mlflow.db"
    before = store.stat().st_mtime_ns if store.exists() else None
    bootstrap_project(PROJECT_PATH)
    with KedroSession.create(project_path=PROJECT_PATH) as session:
        session.run()

    # tests/conftest.py turned tracking off: the run left the local store as it was.
    assert (store.stat().st_mtime_ns if store.exists() else None) == before
