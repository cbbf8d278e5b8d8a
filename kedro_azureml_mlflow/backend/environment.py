"""The Azure ML environment a job runs in, from the MLflow Project's own environment spec.

Azure ML builds an image from a base image plus a conda file; that is where the project's
requirements go, never into the job's command. Requirements that are local wheel files (the
plugin itself when it is an editable or unreleased install) cannot be resolved by that build:
their own dependencies go into the conda file, and the wheels, shipped in the code snapshot, are
installed at job start — skipped when that exact version is already installed.
"""

from __future__ import annotations

import platform
import shlex
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import yaml

from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.errors import PluginError
from kedro_azureml_mlflow.packaging.env_spec import EnvironmentSpec
from kedro_azureml_mlflow.packaging.requirements import read_requirements_file


@dataclass(frozen=True)
class LocalWheel:
    """A wheel in the snapshot: its path relative to the project, name and version from its file name."""

    path: str
    name: str
    version: str
    requires: tuple[str, ...]


def job_environment(project_dir: Path, env_file: Path | None, options: JobOptions) -> Any:
    """The registered environment the options name (its id), or an ``Environment`` built from the spec."""
    from azure.ai.ml.entities import Environment

    if options.environment:
        return registered_environment_id(options.environment)
    if env_file is None:
        return Environment(image=options.image)
    python_version, requirements = read_env_spec(project_dir, env_file)
    wheels = local_wheels(project_dir, requirements)
    from_index = [line for line in requirements if local_wheel(project_dir, line) is None]
    wheel_deps = [dep for wheel in wheels for dep in wheel.requires if dep not in from_index]
    spec = EnvironmentSpec(python_version or platform.python_version(), tuple(from_index + wheel_deps))
    return Environment(image=options.image, conda_file=spec.conda())


def job_command(project_dir: Path, env_file: Path | None, command: str) -> str:
    """The command the job runs: installing shipped wheels first (when there are any), then ``command``."""
    requirements = read_env_spec(project_dir, env_file)[1] if env_file else []
    wheels = local_wheels(project_dir, requirements)
    return f"{install_wheels_command(wheels)} && {command}" if wheels else command


def registered_environment_id(reference: str) -> str:
    """``azureml:name:version`` / ``azureml:name@label`` (``azureml:`` prefix optional)."""
    ref = reference.removeprefix("azureml:")
    name, sep, version = ref.partition(":") if ":" in ref else ref.partition("@")
    if not name or not sep or not version:
        raise PluginError(
            f"environment '{reference}': expected azureml:<name>:<version> or azureml:<name>@latest "
            "(an environment registered in the workspace)"
        )
    return f"azureml:{ref}"


def read_env_spec(project_dir: Path, path: Path) -> tuple[str | None, list[str]]:
    """Python version and pip requirements of a ``python_env.yaml`` or ``conda.yaml``."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"{path}: not a readable environment spec ({exc})") from None
    if not isinstance(data, dict):
        raise PluginError(f"{path}: expected a mapping (python_env.yaml or conda.yaml)")
    if "python" in data or "build_dependencies" in data:
        return str(data.get("python") or "") or None, _expand(project_dir, data.get("dependencies") or [])
    python_version = None
    pip: list[str] = []
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip") or [])
        elif str(dep).startswith("python") and "=" in str(dep):
            python_version = str(dep).split("=")[-1]
    return python_version, _expand(project_dir, pip)


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


def _wheel_requires(wheel: Path) -> list[str]:
    """The wheel's unconditional ``Requires-Dist`` (extras are not asked for)."""
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    return [req for req in meta.get_all("Requires-Dist") or [] if "extra ==" not in req]


def _expand(project_dir: Path, lines: list[Any]) -> list[str]:
    expanded: list[str] = []
    for line in (str(item).strip() for item in lines):
        if line.startswith(("-r ", "--requirement ")):
            expanded.extend(read_requirements_file(project_dir / line.split(maxsplit=1)[1]))
        elif line:
            expanded.append(line)
    return expanded
