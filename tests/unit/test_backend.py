"""The azureml-v2 backend's pure parts: backend_config parsing and the job environment."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from kedro_azureml_mlflow.backend.environment import (
    command_env_file,
    job_command,
    job_environment,
    registered_environment_id,
)
from kedro_azureml_mlflow.backend.options import JobOptions, parse_backend_config
from kedro_azureml_mlflow.bundle.mlproject import load_mlproject
from kedro_azureml_mlflow.core.errors import PluginError


def project_with(folder: Path, env_line: str) -> object:
    """MLflow's reading of an MLproject whose environment line is ``env_line`` (empty: none)."""
    (folder / "MLproject").write_text(f"name: p\n{env_line}\nentry_points:\n  main:\n    command: python train.py\n")
    return load_mlproject(folder)


@pytest.mark.parametrize("value", [False, "false", "False", "no", "0", 0])
def test_use_conda_false_means_false(value: object) -> None:
    options, _ = parse_backend_config({"COMPUTE": "cpu-cluster", "USE_CONDA": value})
    assert options.use_conda is False


@pytest.mark.parametrize("value", [True, "true", "yes", "1"])
def test_use_conda_true(value: object) -> None:
    assert parse_backend_config({"USE_CONDA": value})[0].use_conda is True


def test_all_keys_and_mlflow_keys_are_separated(tmp_path: Path) -> None:
    config = {
        "COMPUTE": "gpu",
        "ENVIRONMENT": "azureml:torch:3",
        "INSTANCE_COUNT": "2",
        "DISTRIBUTION": {"type": "pytorch", "process_count_per_instance": 4},
        "ENVIRONMENT_VARIABLES": {"A": "1"},
        "EXPERIMENT_NAME": "exp",
        "DISPLAY_NAME": "nightly",
        "TAGS": {"team": "ds"},
        "STREAM": "false",
        "ENV_MANAGER": "local",
        "SYNCHRONOUS": True,
    }
    path = tmp_path / "backend.json"
    path.write_text(json.dumps(config))
    for source in (config, path, str(path)):
        options, mlflow_keys = parse_backend_config(source)
        assert options.instance_count == 2 and options.stream is False
        assert options.distribution_spec() == {"type": "pytorch", "process_count_per_instance": 4}
        assert mlflow_keys == {"ENV_MANAGER": "local", "SYNCHRONOUS": True}
    assert JobOptions(distribution="mpi").distribution_spec() == {"type": "mpi"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"COMPUTER": "x"}, "COMPUTER: unknown key; expected one of: COMPUTE, USE_CONDA"),
        ({"USE_CONDA": "maybe"}, "USE_CONDA"),
        ({"INSTANCE_COUNT": 0}, "INSTANCE_COUNT"),
        ({"DISTRIBUTION": {"type": "horovod"}}, "DISTRIBUTION"),
    ],
)
def test_bad_backend_config_is_one_clear_error(config: dict, message: str) -> None:
    with pytest.raises(PluginError, match=message) as info:
        parse_backend_config(config)
    assert info.value.message.startswith("backend_config")


def test_backend_config_file_must_be_json(tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    with pytest.raises(PluginError, match=r"b\.json: not a readable JSON"):
        parse_backend_config(bad)


@pytest.mark.parametrize(("compute", "local"), [(None, True), ("local", True), ("  ", True), ("cpu-cluster", False)])
def test_missing_or_local_compute_runs_locally(compute: str | None, local: bool) -> None:
    assert JobOptions(compute=compute).runs_locally is local


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("azureml:sklearn:3", "azureml:sklearn:3"),
        ("sklearn:3", "azureml:sklearn:3"),
        ("azureml:sklearn@latest", "azureml:sklearn@latest"),
    ],
)
def test_registered_environment_reference(ref: str, expected: str) -> None:
    assert registered_environment_id(ref) == expected


def test_registered_environment_reference_needs_a_version() -> None:
    with pytest.raises(PluginError, match="expected azureml:<name>:<version>"):
        registered_environment_id("azureml:sklearn")


def make_wheel(folder: Path, name: str = "mypkg", version: str = "1.2.3") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    meta = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Requires-Dist: requests>=2\nRequires-Dist: pytest; extra == 'test'\n"
    )
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", meta)
    return wheel


def test_environment_from_python_env_with_local_wheel(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels")
    (tmp_path / "requirements.txt").write_text("pandas>=2\n")
    (tmp_path / "python_env.yaml").write_text(
        "python: '3.10.4'\nbuild_dependencies: [pip]\ndependencies:\n"
        "- -r requirements.txt\n- ./wheels/mypkg-1.2.3-py3-none-any.whl\n"
    )
    project = project_with(tmp_path, "python_env: python_env.yaml")
    env = job_environment(tmp_path, project, JobOptions(compute="c", image="base:1"))
    assert env.image == "base:1"
    assert env.conda_file["dependencies"][0] == "python=3.10"  # major.minor: any patch conda has
    # The wheel cannot be resolved by an image build: its own requirements go there instead, with tracking.
    assert env.conda_file["dependencies"][2] == {"pip": ["pandas>=2", "requests>=2", "azureml-mlflow"]}
    # ...and the job installs it first.
    command = job_command(tmp_path, command_env_file(project), "python train.py")
    assert command.endswith("--no-deps wheels/mypkg-1.2.3-py3-none-any.whl; } && python train.py")
    (tmp_path / "plain.yaml").write_text("python: '3.11'\ndependencies: [pandas]\n")
    assert job_command(tmp_path, tmp_path / "plain.yaml", "python t.py") == "python t.py"


def test_conda_yaml_is_the_conda_file_with_only_tracking_added(tmp_path: Path) -> None:
    conda = (
        "name: tutorial\nchannels: [conda-forge, defaults]\n"
        "dependencies:\n- python=3.9.1\n- numpy=1.26\n- pip\n- pip: [scikit-learn]\n"
    )
    (tmp_path / "conda.yaml").write_text(conda)
    env = job_environment(tmp_path, project_with(tmp_path, "conda_env: conda.yaml"), JobOptions(image="base:1"))
    assert env.conda_file["channels"] == ["conda-forge", "defaults"]
    assert env.conda_file["dependencies"] == [
        "python=3.9.1",
        "numpy=1.26",
        "pip",
        {"pip": ["scikit-learn", "azureml-mlflow"]},
    ]


def test_docker_project_runs_on_its_image(tmp_path: Path) -> None:
    project = project_with(tmp_path, "docker_env:\n  image: my/wine:1")
    env = job_environment(tmp_path, project, JobOptions())
    assert env.image == "my/wine:1" and env.conda_file is None
    assert command_env_file(project) is None  # no wheels to install first on its own image


def test_project_without_environment_spec_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="no environment to run in; set one of: conda_env or python_env"):
        job_environment(tmp_path, project_with(tmp_path, ""), JobOptions())


def test_registered_and_registry_environments(tmp_path: Path) -> None:
    project = project_with(tmp_path, "")
    assert job_environment(tmp_path, project, JobOptions(environment="azureml:sk:1")) == "azureml:sk:1"
    registry = "azureml://registries/azureml/environments/sklearn-1.5/versions/3"
    assert job_environment(tmp_path, project, JobOptions(environment=registry)) == registry
    with pytest.raises(PluginError, match="expected azureml://registries/"):
        registered_environment_id("azureml://registries/azureml/environments/sklearn-1.5")


def test_missing_local_wheel_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "python_env.yaml").write_text("python: '3.11'\ndependencies: [./wheels/gone-1.0-py3-none-any.whl]\n")
    with pytest.raises(PluginError, match="no such wheel"):
        job_command(tmp_path, tmp_path / "python_env.yaml", "python train.py")
