"""Time the starter's example nodes, called directly in this interpreter; print the seconds as JSON.

Run in a project made by ``kedro new --starter=azureml-mlflow``, with its ``src`` on ``PYTHONPATH``:
``python starter_nodes.py <package>``. Imports happen before the clock starts: this is the nodes' work.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import pandas as pd
import yaml


def main(package: str) -> dict[str, float]:
    nodes = importlib.import_module(f"{package}.pipelines.training.nodes")
    parameters = yaml.safe_load(Path("conf/base/parameters_training.yml").read_text())
    data = pd.read_csv("data/01_raw/iris.csv")
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = nodes.split_data(data, parameters["split"])
    classifier = nodes.train_model(X_train, y_train, parameters["model"])
    nodes.evaluate_model(classifier, X_test, y_test)
    nodes.compute_training_curve(X_train, y_train, X_test, y_test, parameters["model"])
    return {"seconds": time.perf_counter() - start}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
