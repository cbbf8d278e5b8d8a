"""The Azure ML environment a job runs in, from the MLflow Project's own environment spec.

- ``ENVIRONMENT`` names a registered one: a workspace's ``azureml:<name>:<version>`` / ``@latest``, or a
  registry's ``azureml://registries/<registry>/environments/<name>/versions/<version>``.
- ``docker_env``: the project's image, as is.
- ``conda_env`` (``conda.yaml``): that conda file on the base image, with only what the job needs added.
- ``python_env``: a conda file made from its Python version and pip requirements.
- No spec at all: an error naming the choices (a bare image has neither MLflow nor the project's needs).

What the job needs beyond the project's own spec: azureml-mlflow, to reach the workspace's ``azureml://``
tracking URI Azure ML injects. Requirements that are local wheel files (the plugin itself, when it is an
editable or unreleased install) cannot be resolved by an image build: their own dependencies go into the
conda file, and the wheels, shipped in the code snapshot, are installed at job start — skipped when that
exact version is installed already.
"""

from __future__ import annotations

import copy
import re
import shlex
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import yaml

from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.bundle.env_spec import EnvironmentSpec, python_minor
from kedro_azureml_mlflow.bundle.requirements import expand_requirements, requirement_name
from kedro_azureml_mlflow.core.errors import PluginError

TRACKING_REQUIREMENT = "azureml-mlflow"
REGISTRY_ENVIRONMENT = re.compile(r"azureml://registries/[^/]+/environments/[^/]+/versions/[^/]+")


@dataclass(frozen=True)
class LocalWheel:
    """A wheel in the snapshot: its path relative to the project, name and version from its file name."""

    path: str
    name: str
    version: str
    requires: tuple[str, ...]


def job_environment(project_dir: Path, project: Any, options: JobOptions) -> Any:
    """The registered environment the options name (its id), or an ``Environment`` for the project."""
    from azure.ai.ml.entities import Environment

    if options.environment:
        return registered_environment_id(options.environment)
    if project.docker_env:
        return Environment(image=str(project.docker_env["image"]))
    env_file = _env_file(project)
    if env_file is None:
        raise PluginError(
            f"{project_dir}/MLproject: no environment to run in; set one of: conda_env or python_env in the "
            "MLproject (or a conda.yaml / python_env.yaml next to it), docker_env with an image that has MLflow, "
            "or ENVIRONMENT (backend_config) / --environment naming a registered Azure ML environment"
        )
    return Environment(image=options.image, conda_file=job_conda_file(project_dir, env_file))


def job_conda_file(project_dir: Path, env_file: Path) -> dict[str, Any]:
    """The conda file Azure ML builds: the project's own, plus tracking and local wheels' dependencies."""
    conda = _conda_of(env_file)
    pip = _pip_list(conda)
    expanded = expand_requirements(pip, project_dir, env_file)
    wheels = local_wheels(project_dir, expanded)
    from_index = [line for line in expanded if local_wheel(project_dir, line) is None]
    needed = [dep for wheel in wheels for dep in wheel.requires]
    if not {requirement_name(line) for line in [*from_index, *needed]} & {TRACKING_REQUIREMENT}:
        needed.append(TRACKING_REQUIREMENT)
    pip[:] = list(dict.fromkeys([*from_index, *needed]))
    return conda


def job_command(project_dir: Path, env_file: Path | None, command: str) -> str:
    """The command the job runs: installing shipped wheels first (when there are any), then ``command``.

    ``env_file`` is the project's conda or python_env file (:func:`command_env_file`); it is taken as a
    path so that the dry run, which knows the file it generated, need not import MLflow to read MLproject.
    """
    if env_file is None:
        return command
    wheels = local_wheels(project_dir, expand_requirements(_pip_list(_conda_of(env_file)), project_dir, env_file))
    return f"{install_wheels_command(wheels)} && {command}" if wheels else command


def registered_environment_id(reference: str) -> str:
    """``azureml:name:version`` / ``azureml:name@label`` (``azureml:`` prefix optional), or a registry's."""
    if reference.startswith("azureml://"):
        if not REGISTRY_ENVIRONMENT.fullmatch(reference):
            raise PluginError(
                f"environment '{reference}': expected azureml://registries/<registry>/environments/<name>/versions/<v>"
            )
        return reference
    ref = reference.removeprefix("azureml:")
    name, sep, version = ref.partition(":") if ":" in ref else ref.partition("@")
    if not name or not sep or not version:
        raise PluginError(
            f"environment '{reference}': expected azureml:<name>:<version>, azureml:<name>@latest "
            "(registered in the workspace) or azureml://registries/<registry>/environments/<name>/versions/<v>"
        )
    return f"azureml:{ref}"


def local_wheels(project_dir: Path, requirements: list[str]) -> list[LocalWheel]:
    """The requirements that are wheel files in the project, in order."""
    return [wheel for wheel in (local_wheel(project_dir, line) for line in requirements) if wheel is not None]


def local_wheel(project_dir: Path, requirement: str) -> LocalWheel | None:
    """The wheel a requirement line points to inside the project, if it is one."""
    if not requirement.endswith(".whl"):
        return None
    path = (project_dir / requirement).resolve()
    if not path.is_file():
        raise PluginError(f"requirement '{requirement}': no such wheel in {project_dir}")
    name, version = path.name.split("-")[:2]
    return LocalWheel(Path(requirement).as_posix(), name, version, tuple(_wheel_requires(path)))


def install_wheels_command(wheels: list[LocalWheel]) -> str:
    """Install each shipped wheel unless exactly its version is installed already."""
    steps = []
    for wheel in wheels:
        check = f"import sys, importlib.metadata as m; sys.exit(m.version({wheel.name!r}) != {wheel.version!r})"
        steps.append(
            f"{{ python -c {shlex.quote(check)} 2>/dev/null || "
            f"python -m pip install --quiet --no-deps {shlex.quote(wheel.path)}; }}"
        )
    return " && ".join(steps)


def _env_file(project: Any) -> Path | None:
    return Path(project.env_config_path) if getattr(project, "env_config_path", None) else None


def command_env_file(project: Any) -> Path | None:
    """The environment file whose shipped wheels the job installs first: none on a ``docker_env`` image."""
    return None if project.docker_env else _env_file(project)


def _conda_of(env_file: Path) -> dict[str, Any]:
    """A ``conda.yaml`` as it is, or a ``python_env.yaml`` as the conda file that builds it."""
    data = _load_mapping(env_file)
    if "python" in data or "build_dependencies" in data:
        python = str(data.get("python") or "")
        if not python:
            raise PluginError(f"{env_file}: python: expected the Python version, e.g. '3.11'")
        deps = [str(dep) for dep in data.get("dependencies") or []]
        return EnvironmentSpec(python_minor(python), tuple(deps)).conda()
    if not isinstance(data.get("dependencies"), list):
        raise PluginError(f"{env_file}: dependencies: expected a list (conda specs and a pip: list)")
    return copy.deepcopy(data)


def _pip_list(conda: dict[str, Any]) -> list[str]:
    """The conda file's ``pip:`` list (created, with ``pip`` itself, when there is none); edited in place."""
    dependencies: list[Any] = conda["dependencies"]
    for dep in dependencies:
        if isinstance(dep, dict) and "pip" in dep:
            existing: list[str] = [str(line) for line in dep["pip"] or []]
            dep["pip"] = existing
            return existing
    if "pip" not in [str(dep).split("=")[0] for dep in dependencies]:
        dependencies.append("pip")
    pip: list[str] = []
    dependencies.append({"pip": pip})
    return pip


def _load_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"{path}: not a readable environment spec ({exc})") from None
    if not isinstance(data, dict):
        raise PluginError(f"{path}: expected a mapping (python_env.yaml or conda.yaml)")
    return data


def _wheel_requires(wheel: Path) -> list[str]:
    """The wheel's unconditional ``Requires-Dist`` (extras are not asked for)."""
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    return [req for req in meta.get_all("Requires-Dist") or [] if "extra ==" not in req]
