"""``kedro azureml submit`` on a real project made from the starter: dry run, local backend, bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kedro_project import clean_env, run_kedro


def submit(
    project: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run_kedro(["azureml", "submit", *args], project, extra_env=env, check=check)


@pytest.mark.slow
def test_dry_run_shows_everything_and_leaves_secrets_out(starter_project: Path) -> None:
    (starter_project / "conf/local/credentials.yml").write_text("token: secret\n")
    (starter_project / ".env").write_text("AZURE_CLIENT_SECRET=secret\n")
    (starter_project / "deploy.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (starter_project / ".amlignore").unlink()  # no ignore file of its own: the fixed rules still apply
    result = submit(
        starter_project, "--dry-run", "--pipeline", "training", "--params", "model.C=3", "--compute", "cpu-cluster"
    )
    out = result.stdout
    job = out.split("── What a real submit would send")[1]  # besides the files
    assert "compute: cpu-cluster" in job and "experiment: demo" in job and "display name: (Azure ML names it)" in job
    assert "environment: built from the project's requirements on mcr.microsoft.com/azureml/" in job
    assert "snapshot: " in job
    assert "── MLproject" in out and "── python_env.yaml" in out and "── Command" in out
    assert "kedro run --pipelines=training --env=local --params=model.C=3" in out
    job_command = out.split("── Azure ML job command")[1]
    assert "pip install --quiet --no-deps wheels/kedro_azureml_mlflow-" in job_command
    assert "&& kedro run --pipelines=training" in job_command
    assert "./wheels/kedro_azureml_mlflow-" in out and "mlflow==" in out
    assert "src/demo/pipeline_registry.py" in out and "conf/local/.gitkeep" in out
    for secret in ("credentials.yml", ".env", "deploy.pem"):
        assert secret not in out, secret
    # The starter uploads data/ and its .gitignore re-includes the example's input (git's rules).
    assert "data/01_raw/iris.csv" in out
    assert "Dry run: nothing was uploaded or submitted." in out


@pytest.mark.slow
def test_local_backend_runs_the_mlflow_project_into_the_configured_store(starter_project: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    amlignore = starter_project / ".amlignore"
    amlignore.write_text(amlignore.read_text().replace("\ndata/\n", "\n"))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    submit(
        starter_project,
        "--backend",
        "local",
        "--include-data",
        "--params",
        "model.C=0.7",
        env={"MLFLOW_TRACKING_URI": store},
    )

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("demo")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, "the project's hooks resumed the run MLflow Projects created"
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.project.backend"] == "local"
    assert run.data.params["model.C"] == "0.7"
    assert run.data.metrics["model_metrics.accuracy"] > 0.8
    assert not (starter_project / "mlflow.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "model.C"], "must contain a key and a value separated by `=`"),
        (
            ["--pipeline", "trainig"],
            "--pipeline 'trainig' is not in the project's pipeline registry; did you mean 'training'?",
        ),
    ],
    ids=["malformed-params", "unknown-pipeline"],
)
def test_bad_input_is_one_line_before_anything_happens(starter_project: Path, args: list[str], message: str) -> None:
    result = submit(starter_project, "--compute", "cpu-cluster", *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "Packaged" not in result.stderr


@pytest.mark.slow
def test_project_without_requirements_is_refused(starter_project: Path) -> None:
    (starter_project / "requirements.txt").unlink()
    result = submit(starter_project, "--dry-run", check=False)
    assert result.returncode == 1
    assert "no requirements found; expected requirements.txt or src/requirements.txt" in result.stderr


@pytest.mark.slow
def test_no_workspace_or_no_compute_is_a_clear_error(starter_project: Path) -> None:
    result = submit(starter_project, "--compute", "cpu-cluster", check=False)
    assert result.returncode == 1
    assert "No Azure ML workspace configured" in result.stderr and "Packaged" not in result.stderr
    result = submit(starter_project, check=False)
    assert result.returncode == 1
    assert "No compute to run on: pass --compute or set submit.compute in" in result.stderr


def test_loading_the_commands_imports_neither_mlflow_nor_azure() -> None:
    code = (
        "import sys, kedro_azureml_mlflow.cli.submit, kedro_azureml_mlflow.cli.jobs, kedro_azureml_mlflow.backend, "
        "kedro_azureml_mlflow.bundle; "
        "print(sorted(m for m in sys.modules if m == 'mlflow' or m.startswith(('mlflow.', 'azure.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_the_dry_run_imports_no_mlflow(starter_project: Path) -> None:
    """MLflow's import is seconds: the dry run computes the job's command without it (the starter's nodes
    import sklearn and matplotlib, not MLflow, so any MLflow module seen here is the plugin's doing)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kedro", "azureml", "submit", "--dry-run"],
        cwd=starter_project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Dry run: nothing was uploaded or submitted." in result.stdout, result.stdout + result.stderr[-3000:]
    assert re.findall(r"\|\s+(mlflow(?:\.\S+)?)\s*$", result.stderr, flags=re.MULTILINE) == []
