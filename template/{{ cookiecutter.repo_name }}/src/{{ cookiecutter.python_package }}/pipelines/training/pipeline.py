"""The ``training`` pipeline: split, train, evaluate, plot."""

from kedro.pipeline import Pipeline, node

from .nodes import (
    compute_training_curve,
    evaluate_model,
    plot_confusion_matrix,
    split_data,
    train_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=split_data,
                inputs=["iris", "params:split"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data",
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train", "params:model"],
                outputs="classifier",
                name="train_model",
            ),
            node(
                func=evaluate_model,
                inputs=["classifier", "X_test", "y_test"],
                outputs="model_metrics",
                name="evaluate_model",
            ),
            node(
                func=compute_training_curve,
                inputs=["X_train", "y_train", "X_test", "y_test", "params:model"],
                outputs="training_curve_metrics",
                name="compute_training_curve",
            ),
            node(
                func=plot_confusion_matrix,
                inputs=["classifier", "X_test", "y_test"],
                outputs="confusion_matrix_plot",
                name="plot_confusion_matrix",
            ),
        ]
    )
