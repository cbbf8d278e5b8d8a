"""A spaceflights-like Kedro project for pipeline-job tests: Kedro's spaceflights pipelines, their
nodes in the namespaces ``data_processing`` and ``data_science`` (the stock starter has none).

Between the two namespaces cross a parquet file (``preprocessed_companies``, read again by
``data_science``), a CSV (``model_input_table``) and a MemoryDataset (``preprocessed_shuttles``);
``regressor`` is a versioned pickle and ``metrics`` a JSON file, pipeline outputs no step reads. The
nodes are tagged ``preprocessing`` and ``training`` (for reuse and compute by tag). The ``holding``
pipeline's first step runs until it is cancelled (it prints ``holding until cancelled`` first); the
``quoting`` pipeline's one step writes the ``label`` parameter to ``echoed`` (a text file); the
``reusing`` pipeline's step ``prep`` (tagged ``preprocessing``) logs ``prep_metrics`` and feeds ``train``.
Registered in ``tests/conftest.py``: ask for ``spaceflights``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from tests.kedro_project import KedroProject

REGISTRY = """
from kedro.pipeline import Pipeline, node, pipeline

import numpy as np
import pandas as pd


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    companies = companies.copy()
    companies["company_rating"] = companies["company_rating"].str.rstrip("%").astype(float) / 100
    return companies


def preprocess_shuttles(shuttles: pd.DataFrame) -> pd.DataFrame:
    shuttles = shuttles.copy()
    shuttles["price"] = shuttles["price"].str.replace("$", "").str.replace(",", "").astype(float)
    return shuttles


def create_model_input_table(shuttles: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    return shuttles.merge(companies, left_on="company_id", right_on="id").drop(columns=["id"])


def split_data(data: pd.DataFrame, companies: pd.DataFrame, shuttles: pd.DataFrame, options: dict) -> tuple:
    assert len(companies) > 0 and len(shuttles) > 0
    data = data.sample(frac=1.0, random_state=options["random_state"]).reset_index(drop=True)
    cut = int(len(data) * (1 - options["test_size"]))
    features = options["features"]
    train, test = data.loc[: cut - 1], data.loc[cut:]
    return train[features], test[features], train["price"], test["price"]


def train_model(x_train: pd.DataFrame, y_train: pd.Series) -> np.ndarray:
    design = np.column_stack([np.ones(len(x_train)), x_train.to_numpy(dtype=float)])
    return np.linalg.lstsq(design, y_train.to_numpy(dtype=float), rcond=None)[0]


def evaluate_model(coef: np.ndarray, x_test: pd.DataFrame, y_test: pd.Series) -> dict:
    design = np.column_stack([np.ones(len(x_test)), x_test.to_numpy(dtype=float)])
    error = design @ coef - y_test.to_numpy(dtype=float)
    return {"mae": float(np.abs(error).mean()), "rows": int(len(x_test))}


def hold(companies: pd.DataFrame) -> pd.DataFrame:
    import time

    print("holding until cancelled", flush=True)
    time.sleep(3600)
    return companies


def count_rows(companies: pd.DataFrame) -> tuple:
    return companies, {"companies": float(len(companies))}


def echo(label: str) -> str:
    return label


def register_pipelines():
    processing = pipeline(
        [
            node(preprocess_companies, "companies", "preprocessed_companies", name="preprocess_companies"),
            node(preprocess_shuttles, "shuttles", "preprocessed_shuttles", name="preprocess_shuttles"),
            node(
                create_model_input_table,
                ["preprocessed_shuttles", "preprocessed_companies"],
                "model_input_table",
                name="create_model_input_table",
            ),
        ],
        namespace="data_processing",
        tags=["preprocessing"],
        inputs={"companies", "shuttles"},
        outputs={"preprocessed_companies", "preprocessed_shuttles", "model_input_table"},
    )
    science = pipeline(
        [
            node(
                split_data,
                ["model_input_table", "preprocessed_companies", "preprocessed_shuttles", "params:model_options"],
                ["X_train", "X_test", "y_train", "y_test"],
                name="split_data",
            ),
            node(train_model, ["X_train", "y_train"], "regressor", name="train_model"),
            node(evaluate_model, ["regressor", "X_test", "y_test"], "metrics", name="evaluate_model"),
        ],
        namespace="data_science",
        tags=["training"],
        inputs={"model_input_table", "preprocessed_companies", "preprocessed_shuttles"},
        outputs={"regressor", "metrics"},
        parameters={"params:model_options"},
    )
    # Grouped by tag, step a writes what b reads and reads what b writes: a cycle.
    cyclic = pipeline(
        [
            node(preprocess_companies, "companies", "preprocessed_companies", name="prep", tags=["step.a"]),
            node(
                create_model_input_table,
                ["shuttles", "preprocessed_companies"],
                "model_input_table",
                name="table",
                tags=["step.b"],
            ),
            node(len, "model_input_table", "row_count", name="count", tags=["step.a"]),
        ]
    )
    # A step that runs until it is cancelled, and one after it that never starts.
    holding = pipeline(
        [node(hold, "companies", "held_companies", name="hold")],
        namespace="hold",
        inputs={"companies"},
        outputs={"held_companies"},
    ) + pipeline([node(len, "held_companies", "held_rows", name="count")], namespace="after", inputs={"held_companies"})
    # One step that writes the text parameter it reads (to see that any value reaches it as it is).
    quoting = pipeline(
        [node(echo, "params:label", "echoed", name="echo")],
        namespace="say",
        parameters={"params:label"},
        outputs={"echoed"},
    )
    # A step that logs metrics (reusable: tagged preprocessing), and one after it that reads its output.
    reusing = pipeline(
        [node(count_rows, "companies", ["counted_companies", "prep_metrics"], name="count")],
        namespace="prep",
        tags=["preprocessing"],
        inputs={"companies"},
        outputs={"counted_companies", "prep_metrics"},
    ) + pipeline(
        [node(len, "counted_companies", "company_count", name="size")], namespace="train", inputs={"counted_companies"}
    )
    return {
        "__default__": processing + science,
        "quoting": quoting,
        "reusing": reusing,
        "processing": processing,
        "cyclic": cyclic,
        "holding": holding,
    }
"""

CATALOG = """
companies:
  type: pandas.CSVDataset
  filepath: data/01_raw/companies.csv
shuttles:
  type: pandas.CSVDataset
  filepath: data/01_raw/shuttles.csv
preprocessed_companies:
  type: pandas.ParquetDataset
  filepath: data/02_intermediate/preprocessed_companies.parquet
"{name}_table":
  type: pandas.CSVDataset
  filepath: data/03_primary/{name}_table.csv
regressor:
  type: pickle.PickleDataset
  filepath: data/06_models/regressor.pickle
  versioned: true
metrics:
  type: json.JSONDataset
  filepath: data/08_reporting/metrics.json
echoed:
  type: text.TextDataset
  filepath: data/08_reporting/echoed.txt
"""

PARAMETERS = """
model_options:
  test_size: 0.25
  random_state: 3
  features: [engines, passenger_capacity, company_rating]
"""


def companies_csv() -> str:
    rows = [f"{i},{50 + (i * 7) % 50}%" for i in range(1, 21)]
    return "id,company_rating\n" + "\n".join(rows) + "\n"


def shuttles_csv() -> str:
    rows = [f'{100 + i},{1 + i % 20},{1 + i % 4},{2 + i % 9},"${1000 + 37 * i:,}"' for i in range(60)]
    return "shuttle_id,company_id,engines,passenger_capacity,price\n" + "\n".join(rows) + "\n"


def make_spaceflights(project: KedroProject) -> KedroProject:
    project.write(f"src/{project.package}/pipeline_registry.py", REGISTRY)
    project.write("conf/base/catalog.yml", CATALOG)
    project.write("conf/base/parameters.yml", PARAMETERS)
    project.write("data/01_raw/companies.csv", companies_csv())
    project.write("data/01_raw/shuttles.csv", shuttles_csv())
    # What the job installs: only what the double's emulated image build finds in the test venv.
    project.write("requirements.txt", "kedro>=1.0\nkedro-datasets[pandas-csvdataset]>=5\npandas\npyarrow\nnumpy\n")
    # The raw data travels with the code (with --include-data): .amlignore beats the .gitignore that leaves data/ out.
    project.write(".amlignore", "mlruns/\nmlflow.db\n")
    return project


@pytest.fixture
def spaceflights(project: KedroProject) -> KedroProject:
    """A fresh spaceflights-like project (a copy of the test project with these pipelines)."""
    return make_spaceflights(project)


def assert_same_model_outputs(ours: Path, reference: Path) -> None:
    """Two project folders hold the same ``regressor`` (its one version) and ``metrics``, to the last bits
    only: ``train_model``'s ``lstsq`` goes through LAPACK, whose last digits can differ between two
    processes of one machine (threads, memory alignment); seen as ``mae`` 623.0356855419683 against ...682."""
    (version,) = (ours / "data/06_models/regressor.pickle").iterdir()
    (ref_version,) = (reference / "data/06_models/regressor.pickle").iterdir()
    coef = pickle.loads((version / "regressor.pickle").read_bytes())
    assert coef.tolist() == pytest.approx(
        pickle.loads((ref_version / "regressor.pickle").read_bytes()).tolist(), rel=1e-12
    )
    metrics = "data/08_reporting/metrics.json"
    assert json.loads((ours / metrics).read_text()) == pytest.approx(
        json.loads((reference / metrics).read_text()), rel=1e-12
    )
