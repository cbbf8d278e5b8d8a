"""The ``conf/<env>/azureml.yml`` model.

Pydantic models with ``extra="forbid"`` so a typo is an error naming its key path instead of a
silently ignored setting. Loading and error formatting live in :mod:`config_loading`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from kedro_azureml_mlflow.core.redaction import DEFAULT_PATTERNS
from kedro_azureml_mlflow.settings.checks import check_experiment_name, check_tracking_uri
from kedro_azureml_mlflow.settings.sweep_config import SweepConfig

# Checked when the file is read, so MLflow or Azure ML never refuse them mid-run.
TrackingUri = Annotated[str, AfterValidator(check_tracking_uri)]
ExperimentName = Annotated[str, AfterValidator(check_experiment_name)]


class _Strict(BaseModel):
    # The docstring under each field is its description: the configuration reference is built from them
    # (settings/descriptions.py reads them for it; pydantic reading them at every import cost every run 26 ms).
    model_config = ConfigDict(extra="forbid", validate_default=True)


class WorkspaceConfig(_Strict):
    """Which Azure ML workspace to track to and submit to."""

    subscription_id: str = Field(min_length=1)
    """The Azure subscription id (a GUID)."""
    resource_group: str = Field(min_length=1)
    """The resource group that holds the workspace."""
    name: str = Field(min_length=1)
    """The workspace's name."""


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
    """Which ``azure-identity`` credential signs in; ``default`` tries environment, managed identity, ``az login``…"""
    client_id: str | None = None
    """The client id of a user-assigned managed identity or app registration."""
    tenant_id: str | None = None
    """The Microsoft Entra tenant to sign in to, when it is not your home tenant."""


class LongParamStrategy(str, Enum):
    """What to do with a parameter value longer than MLflow accepts.

    ``tag`` keeps the value whole: in a ``kedro.param.<key>`` tag when it fits a tag, otherwise
    in the run's ``kedro/params.json`` artifact.
    """

    fail = "fail"
    truncate = "truncate"
    tag = "tag"


class ParamsConfig(_Strict):
    """How the run's parameters are logged."""

    log: bool = True
    """Log the run's parameters."""
    flatten: bool = True
    """Log nested parameters as one key each: ``{model: {C: 1}}`` becomes ``model.C``."""
    separator: str = Field(default=".", min_length=1)
    """What joins the parts of a flattened key (and of a metric from a nested dict)."""
    long_values: LongParamStrategy = LongParamStrategy.tag
    """Values over MLflow's 6000 characters: ``fail`` stops the run, ``truncate`` logs their first 6000,
    ``tag`` keeps them whole: in a ``kedro.param.<key>`` tag up to 8000 characters, beyond that in the run's
    ``kedro/params.json`` artifact."""


class MetricsConfig(_Strict):
    """Which node outputs are logged as metrics (shell-style patterns on dataset names)."""

    datasets: list[str] = Field(default_factory=lambda: ["*metrics"])
    """Shell-style patterns: a node output whose dataset name matches one is logged as metrics."""


class ArtifactsConfig(_Strict):
    """Which node outputs are logged as files (shell-style patterns on dataset names)."""

    datasets: list[str] = Field(default_factory=lambda: ["*_plot*", "*_figure*", "*_chart*", "*confusion_matrix*"])
    """Shell-style patterns: a node output whose dataset name matches one is logged as a file (figures by default)."""
    dataframe_format: Literal["csv", "parquet"] = "csv"
    """How a pandas DataFrame is written (parquet needs pyarrow)."""
    max_mb: float = Field(default=10.0, gt=0)
    """Larger outputs (a DataFrame's size in memory, JSON or text as written) are not logged, with a warning."""


class ModelsConfig(_Strict):
    """Model datasets: whether a ``registered_model_name`` in the catalog registers a version."""

    registration: bool = True
    """Register a new model version each run for model datasets that name a ``registered_model_name``."""


class AgentConfig(_Strict):
    """The tracking agent: the process that owns the MLflow run (see docs/tracking.md)."""

    keep_alive_seconds: float = Field(default=600.0, ge=0)
    """How long an idle agent waits for the next ``kedro run`` of the project; 0: one agent per run
    (``KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE`` overrides it)."""


class TrackingConfig(_Strict):
    """Where and how ``kedro run`` is tracked."""

    enabled: bool = True
    """Track ``kedro run`` at all (``KEDRO_AZUREML_MLFLOW_TRACKING=off`` turns it off without editing files)."""
    tracking_uri: TrackingUri | None = None
    """Track here instead of the workspace's (or the embedded) tracking URI; a password in it is never printed."""
    experiment: ExperimentName | None = None
    """The MLflow experiment; default: the project's package name. At most 500 characters, no ``/``."""
    restore_deleted_experiment: bool = False
    """Restore ``experiment`` when it was deleted (MLflow UI, ``mlflow experiments delete``); off, the run
    says so before the pipeline runs and what it logs waits in the journal (docs/troubleshooting.md)."""
    run_name: str | None = None
    """The MLflow run name; default: the pipeline name(s), joined with ``+``."""
    disable_for_pipelines: list[str] = Field(default_factory=list)
    """Pipelines whose runs are not tracked."""
    params: ParamsConfig = Field(default_factory=ParamsConfig)
    """How parameters are logged."""
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    """Which node outputs are logged as metrics."""
    artifacts: ArtifactsConfig = Field(default_factory=ArtifactsConfig)
    """Which node outputs are logged as files (figures, JSON, tables, text)."""
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    """What model datasets do besides logging the model."""
    on_error: Literal["warn", "fail"] = "warn"
    """If requests cannot be sent: ``warn`` journals them and the run succeeds; ``fail`` also fails the run."""
    flush_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    """When the tracking agent first sends what has queued up during a long run; then every 10, 20, 40, 60 s.
    At most an hour: a longer wait is no longer a flush (and ``.inf`` cannot be waited on)."""
    redact: list[str] = Field(default_factory=lambda: list(DEFAULT_PATTERNS))
    """Parameter (and ``--params``) keys whose values are logged as ``<redacted>``: shell-style patterns,
    matched against each part of a key path; your list replaces the defaults (see docs/security.md)."""
    max_wait_seconds: float = Field(default=30.0, ge=0, le=3600)
    """The most tracking may add after the pipeline ends; what is not sent by then is journaled (docs/tracking.md)."""
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """The tracking agent's reuse across runs."""
    child_runs: Literal["none", "namespace"] = "none"
    """``none``: one MLflow run per ``kedro run``; ``namespace``: that run is the parent of one child run per
    top-level namespace of the nodes that ran, which gets what those nodes log (the shape of ``submit
    --split-by namespace``, see docs/tracking.md)."""

    @field_validator("experiment", "run_name", "tracking_uri")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty (leave the key out for the default)")
        return value


class StepComputeConfig(_Strict):
    """Where the steps whose nodes carry one tag run (``submit.compute_by_tag``)."""

    compute: str = Field(min_length=1)
    """The compute cluster of those steps."""
    instance_count: int = Field(default=1, ge=1)
    """How many nodes those steps run on."""
    distribution: Literal["pytorch", "mpi", "tensorflow"] | None = None
    """The distribution of a multi-node step."""


class SubmitConfig(_Strict):
    """Defaults for ``kedro azureml submit``; every key can be overridden on the command line."""

    compute: str | None = None
    """The Azure ML compute cluster to run on (``--compute``)."""
    environment: str | None = None
    """A registered environment: ``azureml:<name>:<version>``, ``azureml:<name>@latest`` or a registry's
    ``azureml://registries/<registry>/environments/<name>/versions/<version>``; default: one built from the
    project's requirements on ``image``."""
    image: str = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"
    """The base image of the environment built from the project's requirements: a dated tag, never ``:latest``
    (a job must not change under you); how to move it: docs/jobs.md."""
    experiment: ExperimentName | None = None
    """The job's experiment; default: ``tracking.experiment``, then the package name."""
    display_name: str | None = None
    """The job's name in Azure ML Studio."""
    instance_count: int = Field(default=1, ge=1)
    """How many nodes the job runs on."""
    distribution: Literal["pytorch", "mpi", "tensorflow"] | None = None
    """The distribution of a multi-node job."""
    environment_variables: dict[str, str] = Field(default_factory=dict)
    """Environment variables set in the job."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags of the Azure ML job."""
    exclude_data: bool = True
    """Leave ``data/`` out of the uploaded snapshot (``--include-data`` uploads it)."""
    use_conda: bool = False
    """Describe the environment as ``conda.yaml`` instead of ``python_env.yaml``."""
    stream: bool = True
    """With ``--wait``, print the job's log as it runs (else show its status)."""
    wait_timeout_minutes: float = Field(default=24 * 60, gt=0)
    """How long ``--wait`` (and ``kedro azureml logs``) follow a job before giving up with exit code 3; the job
    itself goes on."""
    unknown_status_minutes: float = Field(default=5, gt=0)
    """How long a job may report ``Unknown`` before ``--wait`` stops following it (exit code 3)."""
    split_by: Literal["none", "namespace", "node", "tag"] = "none"
    """``none``: one command job; else a pipeline job of steps by top-level namespace, node or ``step.<name>``
    tag (``--split-by``, see docs/pipeline-jobs.md)."""
    compute_by_tag: dict[str, str | StepComputeConfig] = Field(default_factory=dict)
    """Split jobs: steps whose nodes carry a tag run on its compute (``{gpu: gpu-cluster}`` or
    ``{gpu: {compute: gpu-cluster, instance_count: 2, distribution: pytorch}}``); others on ``compute``."""
    reuse_tags: list[str] = Field(default_factory=list)
    """Split jobs: steps with a node carrying one of these tags may be reused by Azure ML when nothing they
    depend on changed; every other step always runs."""
    continue_on_step_failure: bool = False
    """Split jobs: let independent steps go on after a step failed (sent as ``false`` unless set)."""


class PluginConfig(_Strict):
    """The whole ``azureml.yml``; every section is optional so an empty file is valid."""

    workspace: WorkspaceConfig | None = None
    """The Azure ML workspace; left out, it is found from ``config.json`` or the environment."""
    credentials: CredentialsConfig = Field(default_factory=CredentialsConfig)
    """How to sign in to Azure."""
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    """Where and how ``kedro run`` is tracked."""
    submit: SubmitConfig = Field(default_factory=SubmitConfig)
    """Defaults for ``kedro azureml submit``."""
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    """Defaults for ``kedro azureml sweep`` (see docs/sweeps.md)."""
