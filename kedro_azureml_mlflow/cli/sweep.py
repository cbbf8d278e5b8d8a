"""``kedro azureml sweep``: run the pipeline over a search space of its parameters and keep the best run.

Every check (search expressions, sampling, parameter names, the objective's dataset, tracking being
on) is made before the first trial starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.cli.common import existing_env, project_of
from kedro_azureml_mlflow.cli.run_args import RUNTIME_PARAMS, check_params
from kedro_azureml_mlflow.core.errors import PluginError, quoted

# Options that only a sweep job on Azure ML uses: their value when not given, and how the error names them.
# Given with --backend local they are refused, not ignored (``--exclude-data`` too: it is given, as False).
AZURE_ONLY: dict[str, tuple[object, str]] = {
    "early_termination": (None, "--early-termination"),
    "experiment": (None, "--experiment"),
    "environment": (None, "--environment"),
    "display_name": (None, "--display-name"),
    "include_data": (None, "--include-data/--exclude-data"),
    "use_conda": (None, "--use-conda/--no-use-conda"),
    "strict": (False, "--strict"),
    "dry_run": (False, "--dry-run"),
    "wait": (False, "--wait"),
}


@click.command(name="sweep")
@click.option("--objective", help="The metric to optimise: <metrics dataset>.<key> [default: sweep.objective].")
@click.option("--goal", type=click.Choice(["maximize", "minimize"]), help="[default: sweep.goal]")
@click.option("--search", multiple=True, help='A parameter and its values: "model.C=choice(0.1,1.0,10.0)" (repeat).')
@click.option(
    "--sampling",
    type=click.Choice(["grid", "random", "bayesian"]),
    help="[default: grid when every expression is a choice, else random]",
)
@click.option("--max-trials", type=click.IntRange(min=1), help="[default: the grid's size; required otherwise]")
@click.option("--max-concurrent", type=click.IntRange(min=1), help="Trials running at once [default: 1].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Stop the sweep after MIN minutes.")
@click.option("--seed", type=int, help="The random sampler's seed [default: a new one, logged with the sweep].")
@click.option(
    "--backend",
    type=click.Choice(["azureml", "local"]),
    default="azureml",
    show_default=True,
    help="A sweep job on Azure ML, or trials as `kedro run` processes on this machine.",
)
@click.option("--compute", help="Azure ML compute for the trials [default: submit.compute].")
@click.option("--pipeline", "-p", default="__default__", show_default=True, help="Registered pipeline to run.")
@click.option("--env", "-e", default=None, callback=existing_env, help="Kedro environment of every trial.")
@click.option("--params", default="", callback=check_params, help="Fixed runtime parameters: key=value,a.b=1.")
@click.option("--wait/--no-wait", default=False, help="On Azure ML: follow the trials until the sweep ends.")
@click.option(
    "--early-termination",
    type=click.Choice(["bandit", "median"]),
    help="On Azure ML: stop trials that fall behind (acts only on an objective logged during a trial).",
)
@click.option("--experiment", default=None, help="On Azure ML: the experiment [default: as for submit].")
@click.option("--environment", default=None, help="On Azure ML: registered environment azureml:<name>:<version>.")
@click.option("--display-name", default=None, help="On Azure ML: the sweep job's display name.")
@click.option(
    "--include-data/--exclude-data", default=None, help="On Azure ML: upload data/ with the code [default: submit]."
)
@click.option("--use-conda/--no-use-conda", default=None, help="On Azure ML: describe the environment as conda.yaml.")
@click.option("--strict", is_flag=True, help="On Azure ML: fail when an input of the pipeline is not in the snapshot.")
@click.option("--dry-run", is_flag=True, help="On Azure ML: show the package and the sweep job; send nothing.")
@click.pass_obj
def sweep(metadata: Any, /, **cli: Any) -> None:
    """Run the pipeline for values of its parameters and mark the best run (locally: --backend local)."""
    from rich.console import Console

    from kedro_azureml_mlflow.sweeps.settings import resolve_settings

    console = Console(stderr=True)
    info, config = project_of(metadata, cli["env"])
    local = cli["backend"] == "local"
    settings = resolve_settings(config.sweep, cli, info.config_file, local=local)
    fixed = click.get_current_context().meta.get(RUNTIME_PARAMS) or {}
    check_against_pipeline(metadata, info, config, settings, cli["pipeline"], fixed)
    if not local:
        if not (cli["compute"] or config.submit.compute or cli["dry_run"]):
            raise PluginError(
                f"No compute to run on: pass --compute, set submit.compute in {info.config_file}, "
                "or run the trials here with --backend local"
            )
        from kedro_azureml_mlflow.cli.sweep_azure import submit_sweep

        submit_sweep(metadata, info, config, settings, cli, fixed, console)
        return
    azure_only = [option for key, (unset, option) in AZURE_ONLY.items() if cli.get(key) != unset]
    if azure_only:
        raise PluginError(f"{azure_only[0]} is for sweeps on Azure ML; leave it out with --backend local")
    if settings.requested_sampling != settings.sampling:
        console.print("Bayesian sampling needs Azure ML's sweep service: sampling randomly instead (--backend local)")
    run_local(info, config, settings, cli, fixed, console)


def check_against_pipeline(
    metadata: Any, info: Any, config: Any, settings: Any, pipeline_name: str, fixed: dict[str, Any]
) -> None:
    """Names the pipeline does not read, an objective it does not log, a sweep that would not be tracked."""
    from kedro.framework.project import pipelines

    from kedro_azureml_mlflow.cli.input_check import run_catalog
    from kedro_azureml_mlflow.cli.submit import check_pipeline
    from kedro_azureml_mlflow.settings.config_loading import tracking_switched_off
    from kedro_azureml_mlflow.settings.project import config_loader
    from kedro_azureml_mlflow.sweeps import pipeline_checks

    check_pipeline(pipeline_name)
    if not config.tracking.enabled or tracking_switched_off() or pipeline_name in config.tracking.disable_for_pipelines:
        raise PluginError(
            f"A sweep compares tracked runs, and pipeline {quoted(pipeline_name)} is not tracked: check "
            f"tracking.enabled and tracking.disable_for_pipelines in {info.config_file}, "
            "and KEDRO_AZUREML_MLFLOW_TRACKING"
        )
    pipeline = pipelines[pipeline_name]
    project_path = Path(metadata.project_path)
    parameters = config_loader(project_path, info.env, fixed).get("parameters") or {}
    pipeline_checks.check_search_names(settings.space, parameters, pipeline.inputs(), pipeline_name)
    pipeline_checks.check_fixed_params(settings.space, fixed)
    catalog = run_catalog(project_path, info.env, fixed)
    prefixes = pipeline_checks.metric_prefixes(pipeline.all_outputs(), catalog, config.tracking.metrics.datasets)
    pipeline_checks.check_objective(settings.objective, prefixes, config.tracking.params.separator, pipeline_name)


def run_local(info: Any, config: Any, settings: Any, cli: dict[str, Any], fixed: dict[str, Any], console: Any) -> None:
    """The trials as `kedro run` processes here, tracked where `kedro run` tracks."""
    from kedro_azureml_mlflow.sweeps.local_runner import LocalSweep, TrialCommand
    from kedro_azureml_mlflow.sweeps.report import best_line, trial_line, trials_table
    from kedro_azureml_mlflow.tracking.plan.params import flatten, to_text
    from kedro_azureml_mlflow.tracking.plan.target import resolve_target

    # Each trial opens a run of its own in the project's experiment: a run this process was started
    # inside (`mlflow run`, a job) is neither the trials' nor the sweep's.
    os.environ.pop("MLFLOW_RUN_ID", None)
    target = resolve_target(config, info)
    total = len(settings.trials)
    console.print(
        f"Sweeping {total} trials ({settings.sampling} sampling, {settings.max_concurrent} at once), "
        f"tracked to {target.description}, experiment '{target.experiment_name}'"
    )
    command = TrialCommand(info.path, cli["pipeline"], info.env, cli["params"])
    names = [dim.name for dim in settings.space]
    runner = LocalSweep(
        settings,
        command,
        target,
        on_result=lambda result: console.print(trial_line(result, total, settings.objective), highlight=False),
        fixed={key: to_text(value) for key, value in flatten(fixed, ".").items()},
    )
    outcome = runner.run()
    console.print(trials_table(outcome, names, settings.objective))
    console.print(best_line(outcome, settings.objective), highlight=False)
    if outcome.stopped == "interrupted":
        console.print(
            f"[yellow]Interrupted[/yellow]: the sweep's run {outcome.parent_run_id} and its trials' runs are KILLED"
        )
        raise SystemExit(130)
    if outcome.stopped == "timeout":
        console.print(
            f"[yellow]Stopped after --timeout {settings.timeout_minutes} minutes[/yellow]: running trials are KILLED"
        )
    if outcome.best is None:
        raise PluginError(
            f"No trial logged the objective {settings.objective!r}; each trial's log is in the table above"
        )
