"""The job's Python environment as MLflow Projects describe it: ``python_env.yaml`` or ``conda.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"


def python_minor(version: str) -> str:
    """``3.11.7`` -> ``3.11``: conda channels may not have a new patch release yet; any patch will do."""
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class EnvironmentSpec:
    """A Python version and pip requirements; rendered in either MLflow format."""

    python_version: str
    dependencies: tuple[str, ...]

    def file_name(self, use_conda: bool) -> str:
        return CONDA_FILE if use_conda else PYTHON_ENV_FILE

    def render(self, use_conda: bool) -> str:
        data = self.conda() if use_conda else self.python_env()
        return yaml.safe_dump(data, sort_keys=False)

    def python_env(self) -> dict[str, Any]:
        """MLflow's ``python_env.yaml`` (virtualenv / uv env managers)."""
        return {"python": self.python_version, "build_dependencies": ["pip"], "dependencies": list(self.dependencies)}

    def conda(self) -> dict[str, Any]:
        """A conda environment: the Python version from conda, everything else from pip."""
        return {
            "name": "kedro-job",
            "channels": ["conda-forge"],
            "dependencies": [f"python={self.python_version}", "pip", {"pip": list(self.dependencies)}],
        }
