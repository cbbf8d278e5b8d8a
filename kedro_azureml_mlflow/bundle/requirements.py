"""The project's own requirements, and the job's: the project's plus this plugin and MLflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kedro_azureml_mlflow.bundle.pyproject import read_pyproject
from kedro_azureml_mlflow.core.errors import PluginError

PLUGIN_NAME = "kedro-azureml-mlflow"
REQUIREMENTS_FILES = ("requirements.txt", "src/requirements.txt")
DATA_EXTRA = "data"  # azureml-fsspec, for catalogs that keep data in the workspace


@dataclass(frozen=True)
class ProjectRequirements:
    """Requirement lines and the file they came from (for messages and the dry run)."""

    lines: tuple[str, ...]
    source: Path


def find_requirements(project_path: Path) -> ProjectRequirements:
    """``requirements.txt``, ``src/requirements.txt``, then ``[project].dependencies``."""
    for name in REQUIREMENTS_FILES:
        path = project_path / name
        if path.is_file():
            return _non_empty(ProjectRequirements(tuple(read_requirements_file(path)), path))
    deps = read_pyproject(project_path).get("project", {}).get("dependencies")
    if isinstance(deps, list) and deps:
        return ProjectRequirements(tuple(str(d) for d in deps), project_path / "pyproject.toml")
    raise PluginError(
        f"{project_path}: no requirements found; expected {' or '.join(REQUIREMENTS_FILES)} "
        "or [project].dependencies in pyproject.toml, listing what the job must install (kedro, …)"
    )


def read_requirements_file(path: Path) -> list[str]:
    """Requirement lines without comments; ``-r other.txt`` includes are inlined."""
    return expand_requirements(path.read_text().splitlines(), path.parent, path)


def expand_requirements(lines: Iterable[object], base_dir: Path, source: Path) -> list[str]:
    """Requirement lines without blanks or comments, ``-r``/``--requirement`` includes (relative to
    ``base_dir``) inlined; ``source`` names where the lines came from in errors."""
    expanded: list[str] = []
    for raw in lines:
        line = str(raw).split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            included = base_dir / line.split(maxsplit=1)[1].strip()
            if not included.is_file():
                raise PluginError(f"{source}: '{line}' names a file that does not exist ({included})")
            expanded.extend(read_requirements_file(included))
        else:
            expanded.append(line)
    return expanded


def job_requirements(project: list[str] | tuple[str, ...], plugin_requirement: str, mlflow_version: str) -> list[str]:
    """The project's requirements with this plugin pinned to the submitting install, plus MLflow.

    The project's own line for the plugin is replaced so the job cannot resolve another version.
    """
    kept = [line for line in project if requirement_name(line) != PLUGIN_NAME]
    names = {requirement_name(line) for line in kept}
    extra = [] if names & {"mlflow", "mlflow-skinny"} else [f"mlflow=={mlflow_version}"]
    return [*kept, *extra, plugin_requirement]


def plugin_extra(extra: str) -> tuple[str, ...]:
    """What the plugin's ``[extra]`` installs, read from its own metadata (pyproject.toml says it once)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    found = []
    for line in metadata.requires(PLUGIN_NAME) or []:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            requirement.marker = None
            found.append(str(requirement))
    return tuple(found)


def with_missing(lines: tuple[str, ...], needed: tuple[str, ...]) -> tuple[str, ...]:
    """``lines`` plus each of ``needed`` whose project none of them installs already."""
    names = {requirement_name(line) for line in lines}
    return (*lines, *(line for line in needed if requirement_name(line) not in names))


def requirement_name(line: str) -> str | None:
    """The canonical project name a requirement line installs, or None for options/paths."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def _non_empty(found: ProjectRequirements) -> ProjectRequirements:
    if not found.lines:
        raise PluginError(f"{found.source}: lists no requirements; expected at least kedro")
    return found
