"""Nodes of the ``training`` pipeline.

Nothing here talks to MLflow: kedro-azureml-mlflow logs the run's parameters, the outputs
whose dataset name ends in ``metrics`` (``model_metrics``: a dict of numbers, one metric each;
``training_curve_metrics``: a list of numbers, one metric with one step each), the
``confusion_matrix_plot`` figure (as a PNG), and the ``classifier`` (an MLflow model, declared in
the catalog).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def split_data(
    data: pd.DataFrame, parameters: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split the data into stratified train and test sets."""
    target = parameters["target_column"]
    features = data.drop(columns=[target])
    X_train, X_test, y_train, y_test = train_test_split(
        features,
        data[target],
        test_size=parameters["test_size"],
        random_state=parameters["random_state"],
        stratify=data[target],
    )
    return X_train, X_test, y_train, y_test


def _classifier(C: float, max_iter: int) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


def train_model(
    X_train: pd.DataFrame, y_train: pd.Series, parameters: dict[str, Any]
) -> Pipeline:
    """Fit a scaled logistic regression."""
    classifier = _classifier(C=parameters["C"], max_iter=parameters["max_iter"])
    classifier.fit(X_train, y_train)
    return classifier


def evaluate_model(
    classifier: Pipeline, X_test: pd.DataFrame, y_test: pd.Series
) -> dict[str, float]:
    """Score the classifier on the test set: one number per metric."""
    y_pred = classifier.predict(X_test)
    return {
        "accuracy": float(accuracy_score(y_test, y_pred)),
        "f1_macro": float(f1_score(y_test, y_pred, average="macro")),
        "precision_macro": float(
            precision_score(y_test, y_pred, average="macro", zero_division=0)
        ),
        "log_loss": float(
            log_loss(
                y_test, classifier.predict_proba(X_test), labels=classifier.classes_
            )
        ),
    }


def compute_training_curve(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    parameters: dict[str, Any],
) -> list[float]:
    """Test accuracy after each solver iteration budget: a list, logged as steps."""
    curve = []
    for max_iter in parameters["curve_checkpoints"]:
        classifier = _classifier(C=parameters["C"], max_iter=max_iter)
        with warnings.catch_warnings():
            # Small budgets stop the solver before it converges: that is the point here.
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            classifier.fit(X_train, y_train)
        curve.append(float(accuracy_score(y_test, classifier.predict(X_test))))
    return curve


def plot_confusion_matrix(
    classifier: Pipeline, X_test: pd.DataFrame, y_test: pd.Series
) -> Figure:
    """Test-set predictions against the true classes, as a figure."""
    # A Figure, not pyplot: no window to open, no global state to clean up.
    figure = Figure(figsize=(5, 4), layout="constrained")
    ConfusionMatrixDisplay.from_estimator(
        classifier, X_test, y_test, ax=figure.subplots(), colorbar=False
    )
    return figure
