"""The ``conf/<env>/azureml.yml`` model.

Pydantic models with ``extra="forbid"`` so a typo is an error naming its key path instead of a
silently ignored setting. Loading and error formatting live in :mod:`config_loading`.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class WorkspaceConfig(_Strict):
    """Which Azure ML workspace to track to and submit to."""

    subscription_id: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)


class CredentialType(str, Enum):
    """How to authenticate against Azure; each maps to one ``azure.identity`` class."""

    default = "default"
    cli = "cli"
    managed_identity = "managed_identity"
    environment = "environment"
    interactive_browser = "interactive_browser"
    device_code = "device_code"


class CredentialsConfig(_Strict):
    """How to authenticate. Secrets never live here: azure-identity finds them."""

    type: CredentialType = CredentialType.default
    client_id: str | None = None
    tenant_id: str | None = None


class LongParamStrategy(str, Enum):
    """What to do with a parameter value longer than MLflow accepts."""

    fail = "fail"
    truncate = "truncate"
    tag = "tag"


class ParamsConfig(_Strict):
    """How the run's parameters are logged."""

    log: bool = True
    flatten: bool = True
    separator: str = Field(default=".", min_length=1)
    long_values: LongParamStrategy = LongParamStrategy.tag


class MetricsConfig(_Strict):
    """Which node outputs are logged as metrics (shell-style patterns on dataset names)."""

    datasets: list[str] = Field(default_factory=lambda: ["*metrics"])


class AgentConfig(_Strict):
    """The tracking agent: the process that owns the MLflow run (see docs/tracking.md)."""

    keep_alive_seconds: float = Field(default=600.0, ge=0)


class TrackingConfig(_Strict):
    """Where and how ``kedro run`` is tracked."""

    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str | None = None
    run_name: str | None = None
    disable_for_pipelines: list[str] = Field(default_factory=list)
    params: ParamsConfig = Field(default_factory=ParamsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    on_error: Literal["warn", "fail"] = "warn"
    flush_interval_seconds: float = Field(default=5.0, gt=0)
    max_wait_seconds: float = Field(default=30.0, ge=0, le=3600)
    agent: AgentConfig = Field(default_factory=AgentConfig)

    @field_validator("experiment", "run_name", "tracking_uri")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty (leave the key out for the default)")
        return value


class SubmitConfig(_Strict):
    """Defaults for ``kedro azureml submit``; every key can be overridden on the command line."""

    compute: str | None = None
    environment: str | None = None
    image: str = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    experiment: str | None = None
    display_name: str | None = None
    instance_count: int = Field(default=1, ge=1)
    distribution: Literal["pytorch", "mpi", "tensorflow"] | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    exclude_data: bool = True
    use_conda: bool = False
    stream: bool = True


class PluginConfig(_Strict):
    """The whole ``azureml.yml``; every section is optional so an empty file is valid."""

    workspace: WorkspaceConfig | None = None
    credentials: CredentialsConfig = Field(default_factory=CredentialsConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    submit: SubmitConfig = Field(default_factory=SubmitConfig)
