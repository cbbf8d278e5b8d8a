"""The ``azureml-mlflow`` starter: ``kedro new`` gives a project that runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
import tomllib

from kedro_azureml_mlflow.starters import template_path
from tests.fixtures_projects import STARTER_ALIAS, kedro_env, run_kedro

TEMPLATE = template_path()
TEMPLATE_PROJECT = TEMPLATE / "{{ cookiecutter.repo_name }}"

EXPECTED_MODEL_METRICS = {
    "accuracy": 0.9666666666666667,
    "f1_macro": 0.9665831244778612,
    "precision_macro": 0.9696969696969697,
    "log_loss": 0.15673366209409115,
}
EXPECTED_TRAINING_CURVE = [0.7, 0.7666666666666667, 0.8333333333333334] + [0.9666666666666667] * 4


def _packaged_default_config() -> str:
    return (files("kedro_azureml_mlflow") / "azureml.default.yml").read_text(encoding="utf-8")


# --- fast: the template itself -----------------------------------------------------------


def test_starter_is_registered_with_kedro():
    from kedro.framework.cli.starters import _get_starters_dict

    spec = _get_starters_dict()[STARTER_ALIAS]
    assert Path(spec.template_path) == TEMPLATE
    assert (TEMPLATE / "cookiecutter.json").is_file()
    assert (TEMPLATE / "prompts.yml").is_file()


def test_template_does_not_duplicate_the_default_config():
    """azureml.yml is written by the post-gen hook from the package, never kept twice."""
    assert not list(TEMPLATE.rglob("azureml.yml"))
    assert (TEMPLATE / "hooks" / "post_gen_project.py").is_file()


def test_example_data_is_shipped_and_small():
    csv = TEMPLATE_PROJECT / "data" / "01_raw" / "iris.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sepal_length,sepal_width,petal_length,petal_width,species"
    assert len(lines) == 151
    assert csv.stat().st_size < 8_000


# --- slow: the real `kedro new` and `kedro run` ------------------------------------------


@pytest.mark.slow
def test_kedro_new_creates_the_project_files(starter_project_template: Path):
    project = starter_project_template
    for relative in (
        "pyproject.toml",
        "requirements.txt",
        "README.md",
        ".gitignore",
        ".amlignore",
        "conf/base/catalog.yml",
        "conf/base/parameters_training.yml",
        "conf/base/azureml.yml",
        "conf/local/.gitkeep",
        "data/01_raw/iris.csv",
        "src/demo/__init__.py",
        "src/demo/__main__.py",
        "src/demo/settings.py",
        "src/demo/pipeline_registry.py",
        "src/demo/pipelines/training/nodes.py",
        "src/demo/pipelines/training/pipeline.py",
    ):
        assert (project / relative).is_file(), relative

    # azureml.yml is the commented default that ships with the plugin, except that a submitted
    # job uploads data/ (the example reads data/01_raw/iris.csv on the compute).
    written = (project / "conf/base/azureml.yml").read_text(encoding="utf-8")
    changed = [
        (ours, theirs)
        for ours, theirs in zip(written.splitlines(), _packaged_default_config().splitlines(), strict=False)
        if ours != theirs
    ]
    assert len(written.splitlines()) == len(_packaged_default_config().splitlines())
    assert [ours.split("#")[0].strip() for ours, _ in changed] == ["exclude_data: false"]
    # The raw data is copied byte for byte.
    assert (project / "data/01_raw/iris.csv").read_bytes() == (TEMPLATE_PROJECT / "data/01_raw/iris.csv").read_bytes()

    kedro_table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["kedro"]
    assert kedro_table["package_name"] == "demo"
    assert kedro_table["project_name"] == "demo"
    assert kedro_table["source_dir"] == "src"
    assert kedro_table["kedro_init_version"][0].isdigit()

    requirements = (project / "requirements.txt").read_text().splitlines()
    names = {re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower() for line in requirements if line}
    assert {"kedro", "kedro-datasets", "kedro-azureml-mlflow", "scikit-learn", "pandas"} <= names
    assert any(line.startswith("kedro-datasets[pandas-csvdataset]") for line in requirements)

    amlignore = (project / ".amlignore").read_text().splitlines()
    for pattern in (
        "data/02_intermediate/",
        "data/08_reporting/",
        "conf/local/",
        "mlflow.db",
        "mlruns/",
        ".venv/",
        ".git/",
        "__pycache__/",
        "*.pem",
        ".env",
    ):
        assert pattern in amlignore, pattern
    gitignore = (project / ".gitignore").read_text().splitlines()
    for pattern in ("mlflow.db", "mlruns/", "conf/local/**", ".venv/"):
        assert pattern in gitignore, pattern

    # Everything was rendered; settings.py needs nothing from the plugin.
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".toml", ".yml", ".md", ".txt"}:
            assert "{{" not in path.read_text(encoding="utf-8"), path
    settings_code = [
        line
        for line in (project / "src/demo/settings.py").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert not any("kedro_azureml_mlflow" in line for line in settings_code)


@pytest.mark.slow
def test_submit_snapshot_leaves_data_out_unless_asked(starter_project: Path):
    """data/ stays home by default; --include-data ships the example's input, not run outputs."""
    from kedro_azureml_mlflow.packaging.snapshot import select_files

    for layer in ("02_intermediate", "06_models", "08_reporting"):
        (starter_project / "data" / layer).mkdir(parents=True, exist_ok=True)
        (starter_project / "data" / layer / "output.csv").write_text("x\n")

    def data_files(exclude_data: bool) -> set[str]:
        selected = select_files(starter_project, exclude_data=exclude_data)
        return {str(f.path) for f in selected if str(f.path).startswith("data/")}

    assert data_files(exclude_data=True) == set()
    assert data_files(exclude_data=False) == {"data/01_raw/iris.csv"}


@pytest.mark.slow
def test_example_pipeline_is_deterministic_and_fast(starter_project: Path):
    """The nodes, called directly: metric names, values, and well under 2 s of work."""
    script = """
import json, time, yaml, pandas as pd
from demo.pipelines.training.nodes import (
    compute_training_curve, evaluate_model, split_data, train_model)
p = yaml.safe_load(open("conf/base/parameters_training.yml"))
start = time.perf_counter()
X_train, X_test, y_train, y_test = split_data(pd.read_csv("data/01_raw/iris.csv"), p["split"])
classifier = train_model(X_train, y_train, p["model"])
metrics = evaluate_model(classifier, X_test, y_test)
curve = compute_training_curve(X_train, y_train, X_test, y_test, p["model"], p["training_curve"])
print(json.dumps({"metrics": metrics, "curve": curve, "seconds": time.perf_counter() - start}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=starter_project,
        env=kedro_env({"PYTHONPATH": str(starter_project / "src")}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["metrics"] == pytest.approx(EXPECTED_MODEL_METRICS, rel=1e-6)
    assert out["curve"] == pytest.approx(EXPECTED_TRAINING_CURVE, rel=1e-6)
    assert out["seconds"] < 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra_args",
    [
        pytest.param([], id="default"),
        pytest.param(["--runner", "ThreadRunner", "--pipeline", "training"], id="thread"),
        pytest.param(["--runner", "ParallelRunner"], id="parallel"),
    ],
)
def test_kedro_run_succeeds(starter_project: Path, extra_args: list[str]):
    result = run_kedro(["run", *extra_args], cwd=starter_project)  # fails with its output
    assert result.returncode == 0
