"""Read a project's ``pyproject.toml`` (Kedro metadata, ``[project].dependencies``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Kedro depends on tomli there
    import tomli as tomllib


def read_pyproject(project_dir: Path) -> dict[str, Any]:
    """The parsed file, ``{}`` when there is none."""
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        parsed: dict[str, Any] = tomllib.loads(path.read_text())
        return parsed
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PluginError(f"{path}: not valid TOML ({exc})") from None


def kedro_package_name(project_dir: Path) -> str | None:
    """``[tool.kedro].package_name`` of a Kedro project, None for any other folder."""
    name = read_pyproject(project_dir).get("tool", {}).get("kedro", {}).get("package_name")
    return str(name) if name is not None else None
