"""What a job is submitted with: the ``backend_config`` of ``mlflow.projects.run`` and the options
of ``kedro azureml submit`` both become one :class:`JobOptions`.

Booleans are parsed, not tested for presence: ``USE_CONDA: False`` and ``"false"`` mean false.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kedro_azureml_mlflow.backend.job_states import WaitLimits
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.config import SubmitConfig
from kedro_azureml_mlflow.settings.validation import describe_error

DEFAULT_IMAGE: str = SubmitConfig.model_fields["image"].default
LOCAL_COMPUTE = "local"
# Keys mlflow.projects.run adds to every backend_config; they are for the local backend.
MLFLOW_KEYS = frozenset(
    {
        "ENV_MANAGER",
        "SYNCHRONOUS",
        "DOCKER_ARGS",
        "STORAGE_DIR",
        "build_image",
        "docker_auth",
        "_mlflow_local_backend_run_id",
    }
)

# azureml-mlflow's retired ``backend="azureml"`` named it so; accepted to ease moving to ``azureml-v2``.
LEGACY_KEYS = {"STREAM_OUTPUT": "STREAM"}


class JobOptions(BaseModel):
    """How to run a project on Azure ML; field aliases are the ``backend_config`` keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    compute: str | None = Field(default=None, alias="COMPUTE")
    use_conda: bool = Field(default=False, alias="USE_CONDA")
    environment: str | None = Field(default=None, alias="ENVIRONMENT")
    image: str = Field(default=DEFAULT_IMAGE, alias="IMAGE", min_length=1)
    instance_count: int = Field(default=1, ge=1, alias="INSTANCE_COUNT")
    distribution: Literal["pytorch", "mpi", "tensorflow"] | dict[str, Any] | None = Field(
        default=None, alias="DISTRIBUTION"
    )
    environment_variables: dict[str, str] = Field(default_factory=dict, alias="ENVIRONMENT_VARIABLES")
    experiment_name: str | None = Field(default=None, alias="EXPERIMENT_NAME")
    display_name: str | None = Field(default=None, alias="DISPLAY_NAME")
    tags: dict[str, str] = Field(default_factory=dict, alias="TAGS")
    stream: bool = Field(default=True, alias="STREAM")
    wait_timeout_minutes: float = Field(default=24 * 60, gt=0, alias="WAIT_TIMEOUT_MINUTES")
    unknown_status_minutes: float = Field(default=5, gt=0, alias="UNKNOWN_STATUS_MINUTES")

    @field_validator("compute", "environment", "experiment_name", "display_name")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("distribution")
    @classmethod
    def _distribution_has_type(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("type") not in {"pytorch", "mpi", "tensorflow"}:
            raise ValueError("a mapping needs type: pytorch | mpi | tensorflow")
        return value

    @property
    def runs_locally(self) -> bool:
        return self.compute is None or self.compute == LOCAL_COMPUTE

    def wait_limits(self) -> WaitLimits:
        return WaitLimits.from_minutes(self.wait_timeout_minutes, self.unknown_status_minutes)

    def distribution_spec(self) -> dict[str, Any] | None:
        """The distribution as ``azure.ai.ml.command`` accepts it."""
        if isinstance(self.distribution, str):
            return {"type": self.distribution}
        return self.distribution


def parse_backend_config(backend_config: dict[str, Any] | str | Path | None) -> tuple[JobOptions, dict[str, Any]]:
    """Validate a ``backend_config`` (dict or JSON file); also return MLflow's own keys untouched."""
    raw = {LEGACY_KEYS.get(key, key): value for key, value in _load(backend_config).items()}
    mlflow_keys = {k: v for k, v in raw.items() if k in MLFLOW_KEYS}
    ours = {k: v for k, v in raw.items() if k not in MLFLOW_KEYS}
    try:
        return JobOptions.model_validate(ours), mlflow_keys
    except ValidationError as exc:
        raise PluginError(
            "; ".join(describe_error(err, "backend_config", JobOptions) for err in exc.errors())
        ) from None


def _load(backend_config: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    if backend_config is None:
        return {}
    if isinstance(backend_config, dict):
        return dict(backend_config)
    path = Path(backend_config)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PluginError(f"backend_config {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise PluginError(f"backend_config {path}: expected a JSON object of keys like COMPUTE, USE_CONDA")
    return data
