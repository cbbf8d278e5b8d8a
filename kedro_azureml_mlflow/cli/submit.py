"""``kedro azureml submit``: package the project as an MLflow Project and run it on Azure ML
compute (or on this machine with ``--backend local``).

Everything that can be wrong is checked before anything is uploaded: pipeline name, ``--params``,
requirements (while packaging), compute and environment (one request each).
"""

from __future__ import annotations

import difflib
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.azure_ml.client import require_workspace
from kedro_azureml_mlflow.cli.common import existing_env, project_of
from kedro_azureml_mlflow.cli.run_args import RUNTIME_PARAMS, check_no_secret_params, check_params, check_selection
from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.pipeline_jobs.grouping import SPLIT_CHOICES
from kedro_azureml_mlflow.settings.config import PluginConfig, SubmitConfig
from kedro_azureml_mlflow.settings.project import ProjectInfo


@click.command(name="submit")
@click.option("--compute", help="Azure ML compute to run on [default: submit.compute in azureml.yml].")
@click.option(
    "--backend",
    type=click.Choice(["azureml", "local"]),
    default="azureml",
    show_default=True,
    help="Run on Azure ML, or run the same MLflow Project on this machine.",
)
@click.option("--pipeline", "-p", default="__default__", show_default=True, help="Registered pipeline to run.")
@click.option(
    "--env",
    "-e",
    default=None,
    callback=existing_env,
    help="Kedro environment for the run (and for reading azureml.yml).",
)
@click.option(
    "--params", default="", callback=check_params, help="Runtime parameters, as for kedro run: key=value,a.b=1."
)
@click.option("--tags", "-t", default="", help="Run only nodes with these tags (comma-separated).")
@click.option("--nodes", "-n", default="", help="Run only these nodes (comma-separated).")
@click.option(
    "--experiment",
    default=None,
    help="Experiment name [default: submit.experiment, tracking.experiment, else the package name].",
)
@click.option(
    "--environment",
    default=None,
    help="Registered environment azureml:<name>:<version> [default: built from requirements].",
)
@click.option("--display-name", default=None, help="The job's display name in Azure ML Studio.")
@click.option(
    "--include-data/--exclude-data", default=None, help="Upload data/ with the code [default: submit.exclude_data]."
)
@click.option(
    "--use-conda/--no-use-conda",
    default=None,
    help="Describe the environment as conda.yaml instead of python_env.yaml.",
)
@click.option(
    "--wait/--no-wait",
    default=False,
    show_default=True,
    help="Wait for the job to end (exit code 0 only if it completed).",
)
@click.option("--stream/--no-stream", default=None, help="While waiting, print the job's log [default: submit.stream].")
@click.option("--dry-run", is_flag=True, help="Show the MLproject, environment, command and files; submit nothing.")
@click.option(
    "--strict", is_flag=True, help="Fail before uploading when an input of the pipeline is not in the snapshot."
)
@click.option(
    "--split-by",
    type=click.Choice(SPLIT_CHOICES),
    default=None,
    help="Run as a pipeline job of steps by top-level namespace, node or step.<name> tag [default: submit.split_by].",
)
@click.option("--force-rerun", is_flag=True, help="Split jobs: run every step, even those Azure ML could reuse.")
@click.option(
    "--continue-on-step-failure/--stop-on-step-failure",
    default=None,
    help="Split jobs: let independent steps go on after one failed [default: submit.continue_on_step_failure].",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Split jobs: write the pipeline job as YAML to FILE, its snapshot in FILE.snapshot/.",
)
@click.pass_obj
def submit(metadata: Any, /, **cli: Any) -> None:
    """Run the pipeline as a job on Azure ML compute, tracked in the workspace's MLflow."""
    from kedro.framework.project import pipelines
    from rich.console import Console

    from kedro_azureml_mlflow.bundle import package_project
    from kedro_azureml_mlflow.bundle.build import staging_folder
    from kedro_azureml_mlflow.bundle.report import human_size, show_package
    from kedro_azureml_mlflow.cli.input_check import check_inputs, confirm_missing_inputs, run_catalog
    from kedro_azureml_mlflow.pipeline_jobs.submission import snapshot_folder_for

    console = Console(stderr=True)
    project_path = Path(metadata.project_path)
    info, config = project_of(metadata, cli["env"])
    check_pipeline(cli["pipeline"])
    check_selection(pipelines[cli["pipeline"]], cli["pipeline"], cli["nodes"], cli["tags"])
    check_no_secret_params(cli["params"], config.tracking.redact)
    check_job_values(cli)  # in a dry run too: it must refuse what the real submit would
    catalog = run_catalog(project_path, info.env, click.get_current_context().meta.get(RUNTIME_PARAMS) or {})
    request = package_request(metadata, info.env, config.submit, cli, catalog)
    experiment = cli["experiment"] or config.submit.experiment or config.tracking.experiment or metadata.package_name
    options = job_options(config.submit, cli, request.use_conda)
    plan = pipeline_plan(config, cli, request, project_path)  # before anything is packaged or sent
    to_azure = cli["backend"] == "azureml" and not cli["dry_run"]
    if to_azure and options.compute is None and plan is None:
        raise PluginError(f"No compute to run on: pass --compute or set submit.compute in {info.config_file}")
    workspace = require_workspace(config, info.path, info.config_file) if to_azure else None
    staging_place = nullcontext(snapshot_folder_for(cli["output"])) if cli["output"] else staging_folder(project_path)
    with staging_place as staging:
        with console.status("Packaging the project as an MLflow Project…"):
            list_only = cli["dry_run"] and not cli["output"]
            package = package_project(request, staging / metadata.package_name, list_only=list_only)
        console.print(
            f"Packaged {len(package.files)} files ({human_size(package.total_bytes)}) as an MLflow Project "
            f"[dim]({package.plugin.requirement})[/dim]"
        )
        missing = check_inputs(project_path, request.run, catalog, package.files, request.exclude_data, console)
        if cli["dry_run"]:
            from kedro_azureml_mlflow.backend.environment import job_command

            command = job_command(package.staging, package.staging / package.env_file, package.command)
            if plan is not None:
                flags = pipeline_flags(config, cli)
                show_pipeline_dry_run(plan, package.staging, request.run, options, experiment, flags, cli, Console())
            show_package(package, command, Console())
            show_job(options, experiment, package.staging, Console())
            return
        confirm_missing_inputs(missing, cli["strict"])
        if cli["backend"] == "local":
            run_locally(package.staging, request.run, experiment, config, info, console)
            return
        if plan is not None:
            from kedro_azureml_mlflow.pipeline_jobs.submission import parent_run

            flags = pipeline_flags(config, cli)
            runtime_params = click.get_current_context().meta.get(RUNTIME_PARAMS) or {}
            parent = parent_run(request.run, runtime_params, project_path, config)
            submit_pipeline_job(
                workspace, package.staging, plan, request.run, options, experiment, flags, parent, cli, console
            )
            return
        submit_to_azure(workspace, package.staging, request.run, options, experiment, console, cli["wait"])


def pipeline_plan(config: PluginConfig, cli: dict[str, Any], request: Any, project_path: Path) -> Any:
    """With ``--split-by`` (or ``submit.split_by``) other than ``none``, the pipeline job's plan; else None."""
    split_by = cli["split_by"] or config.submit.split_by
    if split_by == "none":
        if cli["output"] or cli["force_rerun"]:
            raise PluginError("--output and --force-rerun are for pipeline jobs: add --split-by namespace|node|tag")
        return None
    if cli["backend"] == "local":
        raise PluginError(f"--split-by {split_by} runs on Azure ML only; --backend local runs the whole pipeline")
    from kedro_azureml_mlflow.cli.input_check import submitted_pipeline
    from kedro_azureml_mlflow.pipeline_jobs.submission import plan_submission

    runtime_params = click.get_current_context().meta.get(RUNTIME_PARAMS) or {}
    pipeline = submitted_pipeline(request.run)
    return plan_submission(pipeline, split_by, project_path, request.run.env, runtime_params, config.submit)


def pipeline_flags(config: PluginConfig, cli: dict[str, Any]) -> dict[str, bool]:
    keep_going = cli["continue_on_step_failure"]
    return {
        "force_rerun": bool(cli["force_rerun"]),
        "continue_on_step_failure": config.submit.continue_on_step_failure if keep_going is None else keep_going,
    }


def show_pipeline_dry_run(
    plan: Any,
    staging: Path,
    run: Any,
    options: Any,
    experiment: str,
    flags: dict[str, bool],
    cli: dict[str, Any],
    console: Any,
) -> None:
    """The step graph; with ``--output``, the pipeline job's YAML (built here, sent nowhere)."""
    from kedro_azureml_mlflow.pipeline_jobs.report import show_plan
    from kedro_azureml_mlflow.pipeline_jobs.submission import build_job, write_yaml

    show_plan(plan, options.compute, console)
    if cli["output"]:
        write_yaml(build_job(staging, plan, run, options, experiment, flags), cli["output"], console)


def submit_pipeline_job(
    workspace: Any,
    staging: Path,
    plan: Any,
    run: Any,
    options: Any,
    experiment: str,
    flags: dict[str, bool],
    parent: Any,
    cli: dict[str, Any],
    console: Any,
) -> None:
    """Send the pipeline job and log ``parent`` (params and tags) to its run; with ``--wait`` follow it and fail
    unless it completed."""
    from kedro_azureml_mlflow.pipeline_jobs.submission import submit_pipeline

    job = submit_pipeline(workspace, staging, plan, run, options, experiment, flags, cli["output"], parent, console)
    if not cli["wait"]:
        console.print(f"Follow it with: kedro azureml status {job.name} / kedro azureml logs {job.name}")
        return
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun
    from kedro_azureml_mlflow.cli.jobs import follow_pipeline

    follow_pipeline(AzureMLSubmittedRun(workspace, job.name, stream=False, limits=options.wait_limits()), console)


def package_request(
    metadata: Any, env: str, defaults: SubmitConfig, cli: dict[str, Any], catalog: dict[str, Any]
) -> Any:
    """What to package: ``submit:`` from azureml.yml, overridden by the command line; a catalog that
    keeps data in the workspace adds the plugin's ``data`` extra to the job's requirements."""
    from kedro.framework.project import settings

    from kedro_azureml_mlflow.bundle import PackageRequest, RunArguments
    from kedro_azureml_mlflow.bundle.requirements import DATA_EXTRA, plugin_extra
    from kedro_azureml_mlflow.io.workspace_data.catalog_check import check_catalog
    from kedro_azureml_mlflow.settings.project import config_loader

    project_path = Path(metadata.project_path)
    return PackageRequest(
        project_path=project_path,
        name=metadata.package_name,
        run=RunArguments(pipeline=cli["pipeline"], env=env, params=cli["params"], tags=cli["tags"], nodes=cli["nodes"]),
        conf_source=str(settings.CONF_SOURCE),
        exclude_data=defaults.exclude_data if cli["include_data"] is None else not cli["include_data"],
        use_conda=defaults.use_conda if cli["use_conda"] is None else cli["use_conda"],
        credentials_patterns=credentials_patterns(config_loader(project_path, env)),
        extra_requirements=plugin_extra(DATA_EXTRA) if check_catalog(catalog) else (),
    )


def credentials_patterns(loader: Any) -> tuple[str, ...]:
    """The globs the project's config loader reads credentials from (Kedro's defaults otherwise)."""
    from kedro_azureml_mlflow.bundle.secrets import KEDRO_CREDENTIALS_PATTERNS

    patterns = getattr(loader, "config_patterns", {}).get("credentials")
    return tuple(patterns) if patterns else KEDRO_CREDENTIALS_PATTERNS


def check_job_values(cli: dict[str, Any]) -> None:
    """``--compute``, ``--experiment`` and ``--display-name`` as given: one line for each bad value.

    An empty value is not "the default": the real submit would use the default (``or``) silently,
    or send a name Azure ML refuses after the upload.
    """
    from kedro_azureml_mlflow.settings.checks import check_display_name, check_experiment_name

    for option, key in (("--compute", "compute"), ("--experiment", "experiment"), ("--display-name", "display_name")):
        value = cli.get(key)
        if value is not None and not value.strip():
            raise PluginError(f"{option} is empty: give a value, or leave the option out for the default")
    checks = (
        ("--experiment", "experiment", check_experiment_name),
        ("--display-name", "display_name", check_display_name),
    )
    for option, key, check in checks:
        if cli.get(key) is not None:
            try:
                check(cli[key])
            except ValueError as exc:
                raise PluginError(f"{option}: {exc}") from None


def show_job(options: Any, experiment: str, snapshot: Path, console: Any) -> None:
    """What a real submit would send, besides the files: where, in what, under which names."""
    environment = options.environment or f"built from the project's requirements on {options.image}"
    console.print("── What a real submit would send")
    console.print(f"compute: {options.compute or '(none: pass --compute or set submit.compute)'}")
    console.print(f"environment: {environment}")
    console.print(f"experiment: {experiment}")
    console.print(f"display name: {options.display_name or '(Azure ML names it)'}")
    console.print(f"snapshot: {snapshot} (the files above, uploaded on a real submit)")


def check_pipeline(name: str) -> None:
    """Fail on a pipeline name the project's registry does not know (closest name suggested)."""
    from kedro.framework.project import pipelines

    known = list(pipelines.keys())
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"registered: {', '.join(sorted(known)) or '(none)'}"
    raise PluginError(f"--pipeline {quoted(name)} is not in the project's pipeline registry; {hint}")


def job_options(defaults: SubmitConfig, cli: dict[str, Any], use_conda: bool) -> Any:
    """``submit:`` from azureml.yml, overridden by whatever was given on the command line."""
    from kedro_azureml_mlflow.backend.options import JobOptions

    return JobOptions.model_validate(
        {
            "compute": cli["compute"] or defaults.compute,
            "use_conda": use_conda,
            "environment": cli["environment"] or defaults.environment,
            "image": defaults.image,
            "instance_count": defaults.instance_count,
            "distribution": defaults.distribution,
            "environment_variables": defaults.environment_variables,
            "display_name": cli["display_name"] or defaults.display_name,
            "tags": defaults.tags,
            "stream": defaults.stream if cli["stream"] is None else cli["stream"],
            "wait_timeout_minutes": defaults.wait_timeout_minutes,
            "unknown_status_minutes": defaults.unknown_status_minutes,
        }
    )


def run_locally(
    staging: Path, run: Any, experiment: str, config: PluginConfig, info: ProjectInfo, console: Any
) -> None:
    """Run the packaged MLflow Project here with MLflow's local backend, tracked where ``kedro run`` would be."""
    import mlflow
    from mlflow.exceptions import ExecutionException

    from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking
    from kedro_azureml_mlflow.bundle.mlproject import ENTRY_POINT
    from kedro_azureml_mlflow.tracking.plan.target import resolve_target

    target = resolve_target(config, info)
    use_credential_for_tracking(target.tracking_uri, target.workspace)
    mlflow.set_tracking_uri(target.tracking_uri)
    console.print(f"Running the MLflow Project locally, tracked to {target.description}")
    # env_manager="local" means this interpreter's environment: find its `kedro` first, even
    # when the virtual environment is not activated.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    run_project: Any = mlflow.projects.run  # untyped in MLflow
    try:
        submitted = run_project(
            uri=str(staging),
            entry_point=ENTRY_POINT,
            parameters=run.as_parameters(),
            backend="local",
            env_manager="local",
            experiment_name=experiment,
        )
    except ExecutionException as exc:
        raise PluginError(f"The local run failed: {exc}") from None
    console.print(f"[green]Run {submitted.run_id} completed[/green] (experiment '{experiment}')")


def submit_to_azure(
    workspace: Any, staging: Path, run: Any, options: Any, experiment: str, console: Any, wait: bool
) -> None:
    """Check, upload, create the job; with ``wait`` follow it and fail unless it completed."""
    from kedro_azureml_mlflow.backend.submission import prepare_job, submit_job
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun
    from kedro_azureml_mlflow.bundle.mlproject import ENTRY_POINT

    with console.status(f"Checking compute '{options.compute}' and the environment in {workspace.ref.name}…"):
        request = prepare_job(workspace, staging, ENTRY_POINT, run.as_parameters(), options, experiment)
    with console.status("Uploading the snapshot and creating the job…"):
        job = submit_job(workspace, request)
    if not wait:
        console.print(f"Follow it with: kedro azureml status {job.name} / kedro azureml logs {job.name}")
        return
    from kedro_azureml_mlflow.cli.jobs import follow

    follow(AzureMLSubmittedRun(workspace, job.name, stream=options.stream, limits=options.wait_limits()), console)
