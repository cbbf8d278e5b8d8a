"""The ``MLproject`` file: one entry point, ``main``, that runs ``kedro run``.

Every ``kedro run`` option the job may vary is an MLflow Project parameter, with the submitted
values as defaults, so ``mlflow run <snapshot>`` reproduces the submission and ``-P`` changes it.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from kedro_azureml_mlflow.core.errors import PluginError

ENTRY_POINT = "main"


@dataclass(frozen=True)
class RunArguments:
    """The ``kedro run`` options a submission sets (empty string: Kedro's default)."""

    pipeline: str = "__default__"
    env: str = "local"
    params: str = ""
    tags: str = ""
    nodes: str = ""
    runner: str = "SequentialRunner"

    def as_parameters(self) -> dict[str, str]:
        return asdict(self)


def kedro_run_command() -> str:
    """The entry point's command template (MLflow substitutes and shell-quotes ``{name}``)."""
    return (
        f"kedro run {_pipeline_option()}={{pipeline}} --env={{env}} --params={{params}} "
        "--tags={tags} --nodes={nodes} --runner={runner}"
    )


def mlproject(name: str, env_file: str, use_conda: bool, defaults: RunArguments) -> dict[str, Any]:
    """The ``MLproject`` document."""
    parameters = {key: {"type": "string", "default": value} for key, value in defaults.as_parameters().items()}
    return {
        "name": name,
        ("conda_env" if use_conda else "python_env"): env_file,
        "entry_points": {ENTRY_POINT: {"parameters": parameters, "command": kedro_run_command()}},
    }


def run_command(run: RunArguments) -> str:
    """The entry point's command for ``run``, substituted as MLflow does (each value shell-quoted).

    Packaging and the dry run use this, so they need not import MLflow (seconds); the tests hold it
    equal to MLflow's own ``compute_command``, which the submission itself uses.
    """
    return kedro_run_command().format(**{key: shlex.quote(value) for key, value in run.as_parameters().items()})


def render_mlproject(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def load_mlproject(project_dir: Path) -> Any:
    """MLflow's own reading of ``<project_dir>/MLproject`` (any MLflow Project)."""
    from mlflow.exceptions import MlflowException

    from kedro_azureml_mlflow.core.compat import load_mlflow_project

    try:
        return load_mlflow_project(str(project_dir))
    except MlflowException as exc:
        raise PluginError(f"{project_dir}/MLproject: {exc.message}") from None


def entry_point_command(project: Any, entry_point: str, parameters: dict[str, Any]) -> str:
    """The shell command MLflow runs for ``entry_point`` (MLflow's own substitution and quoting)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(
            project.get_entry_point(entry_point).compute_command(
                {key: str(value) for key, value in parameters.items()}, storage_dir=None
            )
        )
    except MlflowException as exc:
        raise PluginError(f"MLproject entry point '{entry_point}': {exc.message}") from None


def _pipeline_option() -> str:
    """``--pipelines`` where this Kedro has it (1.2+: ``--pipeline`` is deprecated there)."""
    from kedro.framework.cli.project import run

    return "--pipelines" if any(param.name == "pipelines" for param in run.params) else "--pipeline"
