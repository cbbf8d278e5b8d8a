"""A Kedro project whose pipeline makes every kind of artifact: figures, a dict, a table, a model.

``use_artifact_pipeline(project)`` turns the test project (``tests.kedro_project``) into it. The
model is an sklearn classifier declared as ``MlflowModelDataset`` (registered as ``iris-clf``);
the other outputs are logged automatically by name. ``check_model(...)`` loads the logged model
back in a fresh interpreter, as a user would, and predicts with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.kedro_project import KedroProject

PIPELINE = """
from kedro.pipeline import Pipeline, node


def load_iris_data():
    from sklearn.datasets import load_iris

    features, target = load_iris(return_X_y=True, as_frame=True)
    return features, target


def train(features, target):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500).fit(features, target)


def scatter(features):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.scatter(features.iloc[:, 0], features.iloc[:, 1])
    return figure


def histogram(features):
    import plotly.graph_objects as go

    return go.Figure(go.Histogram(x=features.iloc[:, 0]))


def report(model, features, target):
    return {"accuracy": float(model.score(features, target)), "classes": [int(c) for c in model.classes_]}


def coefficients(model, features):
    import pandas as pd

    return pd.DataFrame(model.coef_, columns=features.columns)


def register_pipelines():
    pipeline = Pipeline([
        node(load_iris_data, None, ["features", "target"], name="load"),
        node(train, ["features", "target"], "classifier", name="train"),
        node(scatter, "features", "scatter_plot", name="scatter"),
        node(histogram, "features", "histogram_plot", name="histogram"),
        node(report, ["classifier", "features", "target"], "summary_report", name="report"),
        node(coefficients, ["classifier", "features"], "coefficients_table", name="coefficients"),
    ])
    return {"__default__": pipeline}
"""

CATALOG = """
classifier:
  type: kedro_azureml_mlflow.datasets.MlflowModelDataset
  flavor: sklearn
  registered_model_name: {model_name}
  input_example: features
"""

TRACKING = """\
tracking:
  artifacts:
    datasets: ["*_plot", "*_report", "*_table"]
"""

EXPECTED_FILES = {"scatter_plot.png", "histogram_plot.html", "summary_report.json", "coefficients_table.csv"}


def use_artifact_pipeline(
    project: KedroProject, azureml_yml_head: str = "", tracking_extra: str = "", model_name: str = "iris-clf"
) -> None:
    project.write(f"src/{project.package}/pipeline_registry.py", PIPELINE)
    project.write("conf/base/catalog.yml", CATALOG.format(model_name=model_name))
    project.write("conf/base/azureml.yml", azureml_yml_head + TRACKING + tracking_extra)


CHECK_MODEL = textwrap.dedent("""
    import json, sys
    import mlflow
    from sklearn.datasets import load_iris

    mlflow.set_tracking_uri(sys.argv[1])
    run_id = sys.argv[2]
    features, _ = load_iris(return_X_y=True, as_frame=True)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    registered = mlflow.pyfunc.load_model("models:/iris-clf/1")
    version = mlflow.MlflowClient().get_model_version("iris-clf", "1")
    print(json.dumps({
        "predictions": [int(p) for p in model.predict(features.head(3))],
        "registered_predictions": [int(p) for p in registered.predict(features.head(3))],
        "version_run_id": version.run_id,
        "signature_inputs": model.metadata.get_input_schema().input_names(),
    }))
""")


def check_model(tracking_uri: str, run_id: str, env: dict[str, str]) -> dict:
    """Load ``runs:/<run_id>/model`` and ``models:/iris-clf/1`` in a fresh interpreter and predict."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK_MODEL, tracking_uri, run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
