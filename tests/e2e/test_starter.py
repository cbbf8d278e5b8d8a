"""The ``azureml-mlflow`` starter: ``kedro new`` gives a project that runs."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
import tomllib
import yaml
from dulwich.ignore import IgnoreFilter

from kedro_azureml_mlflow.settings.init_config import LOCAL_STATE
from kedro_azureml_mlflow.starters import template_path
from tests.fixtures_projects import STARTER_ALIAS
from tests.kedro_project import clean_env, run_kedro

TEMPLATE = template_path()
TEMPLATE_PROJECT = TEMPLATE / "{{ cookiecutter.repo_name }}"


def _packaged_default_config() -> str:
    return (files("kedro_azureml_mlflow.settings") / "azureml.default.yml").read_text(encoding="utf-8")


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
        "tests/conftest.py",
        "tests/pipelines/training/test_pipeline.py",
    ):
        assert (project / relative).is_file(), relative

    # azureml.yml is the commented default that ships with the plugin, except that a submitted
    # job uploads data/ (the example reads data/01_raw/iris.csv on the compute) and registering
    # the example's model is left for the user to switch on.
    written = (project / "conf/base/azureml.yml").read_text(encoding="utf-8")
    changed = [
        (ours, theirs)
        for ours, theirs in zip(written.splitlines(), _packaged_default_config().splitlines(), strict=False)
        if ours != theirs
    ]
    assert len(written.splitlines()) == len(_packaged_default_config().splitlines())
    assert [ours.split("#")[0].strip() for ours, _ in changed] == ["registration: false", "exclude_data: false"]
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
    for pattern in ("mlruns/", "conf/local/**", ".venv/"):
        assert pattern in gitignore, pattern
    ignored = IgnoreFilter(line.encode() for line in gitignore)
    for state in LOCAL_STATE:  # the embedded store and the journal folder
        assert ignored.is_ignored(state.probe), state.pattern

    # The README says what azureml.yml does: this project uploads data/ with its code.
    assert yaml.safe_load(written)["submit"]["exclude_data"] is False
    readme = (project / "README.md").read_text()
    assert "`submit.exclude_data: false`" in readme and "--include-data" not in readme

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["tool"]
    assert pyproject["pytest"]["ini_options"]["testpaths"] == ["tests"]
    assert {"F", "W", "E", "I", "UP", "PL", "T201"} <= set(pyproject["ruff"]["lint"]["select"])  # Kedro's rules

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
    from kedro_azureml_mlflow.bundle.snapshot import select_files

    for layer in ("02_intermediate", "06_models", "08_reporting"):
        (starter_project / "data" / layer).mkdir(parents=True, exist_ok=True)
        (starter_project / "data" / layer / "output.csv").write_text("x\n")

    def data_files(exclude_data: bool) -> set[str]:
        selected = select_files(starter_project, exclude_data=exclude_data)
        return {str(f.path) for f in selected if str(f.path).startswith("data/")}

    assert data_files(exclude_data=True) == set()
    assert data_files(exclude_data=False) == {"data/01_raw/iris.csv"}


@pytest.mark.slow
def test_the_projects_own_tests_and_kedros_lint_rules_pass(starter_project: Path) -> None:
    """What a new project's CI runs: ruff with the rules in its pyproject.toml, then its pytest."""
    bin_dir = Path(sys.executable).parent
    for check in (["check", "."], ["format", "--check", "."]):
        linted = subprocess.run(
            [str(bin_dir / "ruff"), *check], cwd=starter_project, capture_output=True, text=True, timeout=120
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr

    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=starter_project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = tested.stdout.strip().splitlines()[-1] if tested.stdout.strip() else ""
    assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-3000:]
    assert re.search(r"\b\d+ passed\b", summary) and "failed" not in summary, summary
    assert not (starter_project / "mlflow.db").exists()  # its tests turn tracking off


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra_args", "runner"),
    [
        pytest.param([], "SequentialRunner", id="default"),
        pytest.param(["--runner", "ThreadRunner", "--pipeline", "training"], "ThreadRunner", id="thread"),
        pytest.param(["--runner", "ParallelRunner"], "ParallelRunner", id="parallel"),
    ],
)
def test_kedro_run_tracks_the_example(starter_project: Path, extra_args: list[str], runner: str) -> None:
    from mlflow.tracking import MlflowClient

    run_kedro(["run", *extra_args], starter_project, check=True)

    client = MlflowClient(f"sqlite:///{(starter_project / 'mlflow.db').as_posix()}")
    experiment = client.get_experiment_by_name("demo")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["kedro.runner"] == runner
    assert run.data.params["model.C"] == "1.0" and run.data.params["split.test_size"] == "0.2"
    assert set(run.data.metrics) >= {
        "model_metrics.accuracy",
        "model_metrics.f1_macro",
        "model_metrics.log_loss",
        "training_curve_metrics",
    }
    curve = client.get_metric_history(run.info.run_id, "training_curve_metrics")
    assert [m.step for m in curve] == list(range(7))  # one step per checkpoint in parameters_training.yml


@pytest.mark.slow
def test_the_first_run_shows_an_image_and_a_model_and_registering_it_is_opt_in(starter_project: Path) -> None:
    from mlflow.tracking import MlflowClient

    result = run_kedro(["run"], starter_project, check=True)
    assert "register_new_resolver" not in result.stdout + result.stderr  # a new user's first screen is clean
    client = MlflowClient(f"sqlite:///{(starter_project / 'mlflow.db').as_posix()}")
    [first] = client.search_runs([client.get_experiment_by_name("demo").experiment_id])
    names = {item.path for item in client.list_artifacts(first.info.run_id)}
    assert {"confusion_matrix_plot.png", "model"} <= names
    assert "model/MLmodel" in {item.path for item in client.list_artifacts(first.info.run_id, "model")}
    assert client.search_registered_models() == []  # registration is opt-in

    (starter_project / "conf" / "local" / "azureml.yml").write_text("tracking:\n  models:\n    registration: true\n")
    run_kedro(["run"], starter_project, check=True)
    [version] = client.search_model_versions("name='demo-classifier'")
    assert str(version.version) == "1" and version.run_id != first.info.run_id
