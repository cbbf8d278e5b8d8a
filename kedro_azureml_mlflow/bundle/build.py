"""Build the MLflow Project for a Kedro project in a staging folder: the one place that
combines snapshot, environment spec, plugin wheel and ``MLproject``."""

from __future__ import annotations

import contextlib
import platform
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from kedro_azureml_mlflow.bundle.env_spec import EnvironmentSpec, python_minor
from kedro_azureml_mlflow.bundle.mlproject import (
    RunArguments,
    mlproject,
    render_mlproject,
    run_command,
)
from kedro_azureml_mlflow.bundle.plugin_dist import PluginDistribution, plugin_distribution
from kedro_azureml_mlflow.bundle.requirements import find_requirements, job_requirements, with_missing
from kedro_azureml_mlflow.bundle.secrets import (
    KEDRO_CREDENTIALS_PATTERNS,
    check_no_secrets,
    check_no_secrets_in_text,
    credential_values,
)
from kedro_azureml_mlflow.bundle.snapshot import (
    SnapshotFile,
    empty_conf_envs,
    select_files,
    stage_files,
    write_new_file,
)

MLPROJECT_FILE = "MLproject"
WHEEL_DIR = "wheels"
# The SDK applies the root ignore file again on upload; an empty one (it beats .gitignore) makes
# it upload exactly the files selected here.
UPLOAD_IGNORE_FILE = ".amlignore"
# Inside the project (so hard links work: same filesystem) and left out of every snapshot.
STAGING_PARENT = ".kedro_azureml_mlflow"


@dataclass(frozen=True)
class PackageRequest:
    """What to package: the project, how to run it, and how to describe its environment."""

    project_path: Path
    name: str
    run: RunArguments
    conf_source: str = "conf"
    exclude_data: bool = True
    use_conda: bool = False
    credentials_patterns: tuple[str, ...] = field(default=KEDRO_CREDENTIALS_PATTERNS)
    extra_requirements: tuple[str, ...] = ()  # what the run needs beyond the project's (plugin extras)


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


@contextlib.contextmanager
def staging_folder(project_path: Path) -> Iterator[Path]:
    """A fresh folder to stage the snapshot in, removed afterwards (its parent too, when left empty)."""
    parent = project_path / STAGING_PARENT
    parent.mkdir(exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="staging-", dir=parent) as folder:
            yield Path(folder)
    finally:
        with contextlib.suppress(OSError):
            parent.rmdir()


def package_project(request: PackageRequest, staging: Path, list_only: bool = False) -> PackagedProject:
    """Write the MLflow Project into ``staging`` (an empty or new folder).

    With ``list_only`` (the dry run) the project's own files are selected and checked but not
    staged; only the generated files and the plugin wheel are written.
    """
    project_requirements = find_requirements(request.project_path)
    selected = select_files(
        request.project_path, request.conf_source, request.exclude_data, request.credentials_patterns
    )
    secrets = credential_values(request.project_path, request.conf_source, request.credentials_patterns)
    check_no_secrets(((f.path, request.project_path / f.path) for f in selected), secrets)
    staging.mkdir(parents=True, exist_ok=True)
    if not list_only:
        stage_files(request.project_path, selected, staging)
    plugin = plugin_distribution(staging / WHEEL_DIR)
    spec = EnvironmentSpec(
        python_version=python_minor(platform.python_version()),
        dependencies=tuple(
            job_requirements(
                with_missing(project_requirements.lines, request.extra_requirements),
                plugin.requirement,
                metadata.version("mlflow"),
            )
        ),
    )
    env_file = spec.file_name(request.use_conda)
    mlproject_text = render_mlproject(mlproject(request.name, env_file, request.use_conda, request.run))
    check_no_secrets_in_text(MLPROJECT_FILE, mlproject_text, secrets)
    generated = {
        env_file: spec.render(request.use_conda),
        MLPROJECT_FILE: mlproject_text,
        UPLOAD_IGNORE_FILE: "# Files were selected by kedro azureml submit.\n",
    }
    generated.update(
        (str(keep), "")
        for keep in empty_conf_envs(request.project_path, selected, request.conf_source, request.run.env)
    )
    for name, text in generated.items():
        write_new_file(staging / name, text)

    return PackagedProject(
        staging=staging,
        mlproject_text=mlproject_text,
        env_file=env_file,
        env_text=generated[env_file],
        command=run_command(request.run),
        plugin=plugin,
        files=_listing(selected, staging, generated, plugin),
    )


def _listing(
    selected: list[SnapshotFile], staging: Path, generated: dict[str, str], plugin: PluginDistribution
) -> tuple[SnapshotFile, ...]:
    """Every file of the snapshot once: the project's, then the generated ones over them."""
    files = {f.path: f for f in selected}
    for name in generated:
        files[PurePosixPath(name)] = SnapshotFile(PurePosixPath(name), (staging / name).stat().st_size)
    if plugin.wheel is not None:
        rel = PurePosixPath(plugin.wheel.relative_to(staging).as_posix())
        files[rel] = SnapshotFile(rel, plugin.wheel.stat().st_size)
    return tuple(sorted(files.values(), key=lambda f: f.path))
