"""``submit --split-by``: the plan before packaging, then the pipeline job from the staged
snapshot, checked (computes, environment) before it is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.pipeline_jobs.build import PipelineSettings, pipeline_job
from kedro_azureml_mlflow.pipeline_jobs.grouping import SplitBy
from kedro_azureml_mlflow.pipeline_jobs.parent_run import ParentRun
from kedro_azureml_mlflow.pipeline_jobs.plan import PipelinePlan, plan_pipeline
from kedro_azureml_mlflow.settings.config import PluginConfig, SubmitConfig


def plan_submission(
    pipeline: Any, split_by: SplitBy, project_path: Path, env: str, runtime_params: dict[str, Any], submit: SubmitConfig
) -> PipelinePlan:
    """The plan for the submitted (filtered) pipeline, with the env's catalog and parameters."""
    from kedro.config import MissingConfigException

    from kedro_azureml_mlflow.settings.project import config_loader

    loader = config_loader(project_path, env, runtime_params)
    try:
        catalog = dict(loader["catalog"])
    except MissingConfigException:
        catalog = {}
    return plan_pipeline(pipeline, split_by, project_path, catalog, project_parameters(loader), submit)


def project_parameters(loader: Any) -> dict[str, Any]:
    """The env's parameters with the runtime ones (``--params``) over them, as a Kedro run reads them."""
    from kedro.config import MissingConfigException

    try:
        return dict(loader["parameters"])
    except MissingConfigException:
        return {}


def parent_run(
    run: RunArguments, runtime_params: dict[str, Any], project_path: Path, config: PluginConfig
) -> ParentRun | None:
    """What the submitter logs to the pipeline job's run; ``None`` when the pipeline is not tracked."""
    from kedro_azureml_mlflow.pipeline_jobs.parent_run import parent_batch
    from kedro_azureml_mlflow.settings.project import config_loader

    tracking = config.tracking
    if not tracking.enabled or run.pipeline in tracking.disable_for_pipelines:
        return None
    parameters = project_parameters(config_loader(project_path, run.env, runtime_params))
    return ParentRun(parent_batch(parameters, tracking, run, project_path), project_path)


def build_job(
    staging: Path,
    plan: PipelinePlan,
    run: RunArguments,
    options: JobOptions,
    experiment: str,
    flags: dict[str, bool],
) -> Any:
    """The pipeline job for the staged snapshot (MLflow reads its MLproject); nothing is sent."""
    from kedro_azureml_mlflow.backend.environment import command_env_file, job_command, job_environment
    from kedro_azureml_mlflow.bundle.mlproject import load_mlproject

    project = load_mlproject(staging)
    env_file = command_env_file(project)
    settings = PipelineSettings(
        code_dir=staging,
        environment=job_environment(staging, project, options),
        wrap_command=lambda command: job_command(staging, env_file, command),
        options=options,
        experiment=experiment,
        force_rerun=flags["force_rerun"],
        continue_on_step_failure=flags["continue_on_step_failure"],
    )
    return pipeline_job(plan, run, settings)


def check_targets(workspace: AzureWorkspace, plan: PipelinePlan, options: JobOptions) -> None:
    """Every compute the steps run on, and a registered environment, exist (reads only)."""
    from kedro_azureml_mlflow.backend.environment import registered_environment_id
    from kedro_azureml_mlflow.backend.job import check_compute, check_environment

    if options.compute is None and any(step.compute is None for step in plan.steps):
        raise PluginError("No compute for the steps without a compute_by_tag tag: pass --compute or set submit.compute")
    computes = {step.compute.compute if step.compute else options.compute for step in plan.steps}
    for compute in sorted(c for c in computes if c):
        check_compute(workspace, compute)
    if options.environment and not options.environment.startswith("azureml://registries/"):
        check_environment(workspace, registered_environment_id(options.environment))


def send(workspace: AzureWorkspace, job: Any, experiment: str) -> Any:
    """Upload the snapshot (once: every step shares it) and create the pipeline job."""
    with workspace.errors("creating the pipeline job"):
        return workspace.ml_client.jobs.create_or_update(job, experiment_name=experiment)


def write_yaml(job: Any, path: Path, console: Any) -> None:
    """The pipeline job as YAML a user can review (it refers to the snapshot folder next to it)."""
    job.dump(path)
    console.print(f"Wrote the pipeline job to {path} (snapshot: {job.jobs[next(iter(job.jobs))].component.code})")


def snapshot_folder_for(output: Path) -> Path:
    """Where ``--output FILE`` keeps the snapshot its YAML refers to: ``FILE.snapshot/``, new or empty."""
    folder = output.with_name(output.name + ".snapshot")
    if folder.exists() and any(folder.iterdir()):
        raise PluginError(f"--output {output}: {folder} exists and is not empty; remove it or choose another FILE")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def submit_pipeline(
    workspace: AzureWorkspace,
    staging: Path,
    plan: PipelinePlan,
    run: RunArguments,
    options: JobOptions,
    experiment: str,
    flags: dict[str, bool],
    output: Path | None,
    parent: ParentRun | None,
    console: Any,
) -> Any:
    """Check the computes, build, optionally write the YAML, send, log the params and tags to the job's
    run (``parent``); returns the created job."""
    with console.status(f"Checking computes and the environment in {workspace.ref.name}…"):
        check_targets(workspace, plan, options)
        job = build_job(staging, plan, run, options, experiment, flags)
    if output is not None:
        write_yaml(job, output, console)
    with console.status(f"Uploading the snapshot and creating the pipeline job ({len(plan.steps)} steps)…"):
        created = send(workspace, job, experiment)
    console.print(
        f"Azure ML job {created.name} submitted as a pipeline of {len(plan.steps)} steps: {created.studio_url}",
        markup=False,
        highlight=False,
    )
    if parent is not None:
        with console.status(f"Logging the parameters and tags to the run of {created.name}…"):
            parent.log(workspace, created.name, experiment)
    return created
