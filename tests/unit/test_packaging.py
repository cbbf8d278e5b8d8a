"""Packaging a Kedro project as an MLflow Project: snapshot selection, requirements, MLproject, env spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kedro_azureml_mlflow.bundle.env_spec import EnvironmentSpec
from kedro_azureml_mlflow.bundle.mlproject import RunArguments, mlproject
from kedro_azureml_mlflow.bundle.requirements import find_requirements, job_requirements
from kedro_azureml_mlflow.bundle.snapshot import empty_conf_envs, select_files
from kedro_azureml_mlflow.core.errors import PluginError

SECRETS = [
    "conf/local/credentials.yml",
    "conf/local/azureml.yml",
    "conf/base/credentials.yml",
    "conf/prod/credentials_azure.yaml",
    ".env",
    ".env.production",
    "deploy/server.pem",
    "deploy/tls.key",
    "home/id_rsa",
    "home/id_ed25519.pub",
    "data/01_raw/customers.csv",
    "mlflow.db",
    "mlruns/0/meta.yaml",
    ".git/config",
    ".venv/lib/site.py",
    "venv/bin/python",
    "envs/myenv/pyvenv.cfg",
    "envs/myenv/lib/x.py",
    "src/pkg/__pycache__/nodes.cpython-311.pyc",
]
CODE = [
    "pyproject.toml",
    "requirements.txt",
    "conf/base/catalog.yml",
    "conf/base/parameters.yml",
    "src/pkg/__init__.py",
    "src/pkg/nodes.py",
    "notebooks/analysis.ipynb",
]


def make_tree(root: Path, paths: list[str]) -> None:
    for rel in paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {rel}\n")


def selected(root: Path, conf_source: str = "conf", exclude_data: bool = True) -> set[str]:
    return {str(f.path) for f in select_files(root, conf_source=conf_source, exclude_data=exclude_data)}


@pytest.mark.parametrize(
    "ignore_file",
    [
        None,
        (".amlignore", ""),
        (".gitignore", "*.log\n"),
        # An ignore file that tries to bring everything back must not win.
        (
            ".amlignore",
            "!conf/local/\n!conf/local/**\n!.env\n!*.pem\n!*.key\n!data/\n!data/**\n!mlflow.db\n!.venv/\n!credentials*.yml\n",
        ),
    ],
    ids=["no-ignore-file", "empty-amlignore", "gitignore", "amlignore-unignores-secrets"],
)
def test_secrets_local_state_and_data_never_land(tmp_path: Path, ignore_file: tuple[str, str] | None) -> None:
    make_tree(tmp_path, SECRETS + CODE)
    if ignore_file:
        (tmp_path / ignore_file[0]).write_text(ignore_file[1])
    files = selected(tmp_path)
    assert not files & set(SECRETS), files & set(SECRETS)
    assert set(CODE) <= files


def test_amlignore_beats_gitignore_and_is_honoured(tmp_path: Path) -> None:
    make_tree(tmp_path, [*CODE, "notes/todo.txt", "build/out.bin"])
    (tmp_path / ".gitignore").write_text("notes/\n")
    (tmp_path / ".amlignore").write_text("build/\n")
    files = selected(tmp_path)
    assert "notes/todo.txt" in files  # .gitignore is not read when .amlignore exists
    assert "build/out.bin" not in files


def test_gitignore_used_without_amlignore(tmp_path: Path) -> None:
    make_tree(tmp_path, [*CODE, "notes/todo.txt", "src/pkg/big.parquet"])
    (tmp_path / ".gitignore").write_text("notes/\n*.parquet\n")
    files = selected(tmp_path)
    assert "notes/todo.txt" not in files and "src/pkg/big.parquet" not in files
    assert "src/pkg/nodes.py" in files


def test_data_included_only_when_asked_and_not_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, [*CODE, "data/01_raw/iris.csv", "data/02_intermediate/tmp.csv"])
    assert "data/01_raw/iris.csv" in selected(tmp_path, exclude_data=False)
    (tmp_path / ".amlignore").write_text("data/02_intermediate/\n")
    files = selected(tmp_path, exclude_data=False)
    assert "data/01_raw/iris.csv" in files and "data/02_intermediate/tmp.csv" not in files


def test_conf_source_other_than_conf(tmp_path: Path) -> None:
    make_tree(tmp_path, ["settings/local/azureml.yml", "settings/base/catalog.yml"])
    files = selected(tmp_path, conf_source="settings")
    assert files == {"settings/base/catalog.yml"}


def test_sizes_are_reported(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 12345)
    assert {(str(f.path), f.size) for f in select_files(tmp_path)} == {("big.bin", 12345)}


def test_every_conf_env_exists_in_the_snapshot(tmp_path: Path) -> None:
    make_tree(tmp_path, ["conf/base/catalog.yml", "conf/local/credentials.yml", "conf/README.md"])
    (tmp_path / "conf/staging").mkdir()
    keeps = empty_conf_envs(tmp_path, select_files(tmp_path), "conf", run_env="prod")
    assert sorted(map(str, keeps)) == ["conf/local/.gitkeep", "conf/prod/.gitkeep", "conf/staging/.gitkeep"]


def test_requirements_found_in_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["kedro>=1", "pandas"]\n')
    assert find_requirements(tmp_path).lines == ("kedro>=1", "pandas")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/requirements.txt").write_text("kedro~=1.7\n")
    assert find_requirements(tmp_path).lines == ("kedro~=1.7",)
    (tmp_path / "requirements.txt").write_text("# top\nkedro==1.7.0  # pinned\n-r extra.txt\n\n")
    (tmp_path / "extra.txt").write_text("scikit-learn>=1.3\n")
    assert find_requirements(tmp_path).lines == ("kedro==1.7.0", "scikit-learn>=1.3")


@pytest.mark.parametrize("content", [None, "# nothing here\n"], ids=["missing", "empty"])
def test_project_without_requirements_is_an_error(tmp_path: Path, content: str | None) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "x"\n')
    if content is not None:
        (tmp_path / "requirements.txt").write_text(content)
    with pytest.raises(PluginError, match="requirements"):
        find_requirements(tmp_path)


def test_job_requirements_pin_this_plugin_and_add_mlflow() -> None:
    reqs = job_requirements(["kedro~=1.7", "kedro_azureml_mlflow>=0.0.1", "pandas"], "./wheels/k.whl", "3.15.0")
    assert reqs == ["kedro~=1.7", "pandas", "mlflow==3.15.0", "./wheels/k.whl"]
    assert job_requirements(["mlflow-skinny<4"], "kedro-azureml-mlflow==0.1.0", "3.15.0") == [
        "mlflow-skinny<4",
        "kedro-azureml-mlflow==0.1.0",
    ]


def test_mlproject_parameters_and_command() -> None:
    doc = mlproject("demo", "python_env.yaml", False, RunArguments(pipeline="training", env="prod", params="a=1"))
    entry = doc["entry_points"]["main"]
    assert doc["python_env"] == "python_env.yaml" and "conda_env" not in doc
    assert entry["parameters"]["pipeline"] == {"type": "string", "default": "training"}
    assert entry["parameters"]["env"]["default"] == "prod"
    assert entry["parameters"]["params"]["default"] == "a=1"
    assert entry["command"].startswith("kedro run --pipelines={pipeline} --env={env} --params={params}")
    assert mlproject("demo", "conda.yaml", True, RunArguments())["conda_env"] == "conda.yaml"


def test_env_spec_renders_both_formats() -> None:
    spec = EnvironmentSpec("3.11.7", ("kedro~=1.7", "./wheels/k.whl"))
    python_env = yaml.safe_load(spec.render(use_conda=False))
    assert python_env == {
        "python": "3.11.7",
        "build_dependencies": ["pip"],
        "dependencies": ["kedro~=1.7", "./wheels/k.whl"],
    }
    conda = yaml.safe_load(spec.render(use_conda=True))
    assert conda["dependencies"] == ["python=3.11.7", "pip", {"pip": ["kedro~=1.7", "./wheels/k.whl"]}]
    assert spec.file_name(True) == "conda.yaml" and spec.file_name(False) == "python_env.yaml"


@pytest.mark.parametrize(
    "run",
    [
        RunArguments(),
        RunArguments(pipeline="training", env="prod", params="model.C=3,name='a b'", tags="t1,t2", nodes="n"),
        RunArguments(params='x="quoted; $(rm -rf /)"', runner="ParallelRunner"),
    ],
    ids=["defaults", "everything", "shell-metacharacters"],
)
def test_run_command_is_what_mlflow_computes_from_the_mlproject(tmp_path: Path, run: RunArguments) -> None:
    from kedro_azureml_mlflow.bundle.mlproject import (
        ENTRY_POINT,
        entry_point_command,
        load_mlproject,
        render_mlproject,
        run_command,
    )

    (tmp_path / "python_env.yaml").write_text("python: '3.11'\ndependencies: [kedro]\n")
    (tmp_path / "MLproject").write_text(render_mlproject(mlproject("demo", "python_env.yaml", False, run)))
    expected = entry_point_command(load_mlproject(tmp_path), ENTRY_POINT, run.as_parameters())
    assert run_command(run) == expected
