"""Build the MLflow Project for a Kedro project in a staging folder: the one place that
combines snapshot, environment spec, plugin wheel and ``MLproject``."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from kedro_azureml_mlflow.packaging.env_spec import EnvironmentSpec
from kedro_azureml_mlflow.packaging.mlproject import (
    ENTRY_POINT,
    RunArguments,
    entry_point_command,
    load_mlproject,
    mlproject,
    render_mlproject,
)
from kedro_azureml_mlflow.packaging.plugin_dist import PluginDistribution, plugin_distribution
from kedro_azureml_mlflow.packaging.requirements import find_requirements, job_requirements
from kedro_azureml_mlflow.packaging.snapshot import SnapshotFile, copy_snapshot, keep_conf_envs, select_files

MLPROJECT_FILE = "MLproject"
WHEEL_DIR = "wheels"
# The SDK applies the root ignore file again on upload; an empty one (it beats .gitignore) makes
# it upload exactly the files selected here.
UPLOAD_IGNORE_FILE = ".amlignore"


@dataclass(frozen=True)
class PackageRequest:
    """What to package: the project, how to run it, and how to describe its environment."""

    project_path: Path
    name: str
    run: RunArguments
    conf_source: str = "conf"
    exclude_data: bool = True
    use_conda: bool = False


@dataclass(frozen=True)
class PackagedProject:
    """A staged MLflow Project and what the dry run shows of it."""

    staging: Path
    mlproject_text: str
    env_file: str
    env_text: str
    command: str
    plugin: PluginDistribution
    files: tuple[SnapshotFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def package_project(request: PackageRequest, staging: Path) -> PackagedProject:
    """Write the MLflow Project into ``staging`` (an empty or new folder)."""
    project_requirements = find_requirements(request.project_path)
    selected = select_files(request.project_path, request.conf_source, request.exclude_data)
    staging.mkdir(parents=True, exist_ok=True)
    copy_snapshot(request.project_path, selected, staging)
    keep_conf_envs(request.project_path, staging, request.conf_source, request.run.env)

    plugin = plugin_distribution(staging / WHEEL_DIR)
    spec = EnvironmentSpec(
        python_version=platform.python_version(),
        dependencies=tuple(
            job_requirements(project_requirements.lines, plugin.requirement, metadata.version("mlflow"))
        ),
    )
    env_file = spec.file_name(request.use_conda)
    env_text = spec.render(request.use_conda)
    (staging / env_file).write_text(env_text)
    mlproject_text = render_mlproject(mlproject(request.name, env_file, request.use_conda, request.run))
    (staging / MLPROJECT_FILE).write_text(mlproject_text)
    (staging / UPLOAD_IGNORE_FILE).write_text("# Files were selected by kedro azureml submit.\n")

    return PackagedProject(
        staging=staging,
        mlproject_text=mlproject_text,
        env_file=env_file,
        env_text=env_text,
        command=entry_point_command(load_mlproject(staging), ENTRY_POINT, request.run.as_parameters()),
        plugin=plugin,
        files=tuple(_staged_files(staging)),
    )


def _staged_files(staging: Path) -> list[SnapshotFile]:
    return sorted(
        (
            SnapshotFile(PurePosixPath(p.relative_to(staging).as_posix()), p.stat().st_size)
            for p in staging.rglob("*")
            if p.is_file()
        ),
        key=lambda f: f.path,
    )
