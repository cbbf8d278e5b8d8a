"""The ``MLproject`` file: one entry point, ``main``, that runs ``kedro run``.

Every ``kedro run`` option the job may vary is an MLflow Project parameter, with the submitted
values as defaults, so ``mlflow run <snapshot>`` reproduces the submission and ``-P`` changes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import yaml

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


def render_mlproject(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def _pipeline_option() -> str:
    """``--pipelines`` where this Kedro has it (1.2+: ``--pipeline`` is deprecated there)."""
    from kedro.framework.cli.project import run

    return "--pipelines" if any(param.name == "pipelines" for param in run.params) else "--pipeline"
