"""``submit``'s check that the job will find its inputs, before anything is uploaded.

Every free input of the submitted pipeline that the run env's catalog keeps in a local file
missing from the snapshot is a warning. The dry run only warns. A real submission asks for
confirmation in a terminal, fails with ``--strict``, and goes on (after the warnings) when nobody
can answer, as in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.bundle.data_check import MissingInput, missing_inputs
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.bundle.snapshot import SnapshotFile, ignore_file
from kedro_azureml_mlflow.core.errors import PluginError


def run_catalog(project_path: Path, env: str, runtime_params: dict[str, Any]) -> dict[str, Any]:
    """The catalog config of the submitted env, as ``kedro run --env --params`` reads it (no dataset created)."""
    from kedro.config import MissingConfigException

    from kedro_azureml_mlflow.settings.project import config_loader

    try:
        return dict(config_loader(project_path, env, runtime_params)["catalog"])
    except MissingConfigException:
        return {}


def check_inputs(
    project_path: Path,
    run: RunArguments,
    catalog: dict[str, Any],
    files: tuple[SnapshotFile, ...],
    exclude_data: bool,
    console: Any,
) -> list[MissingInput]:
    """Warn (on ``console``) about each free input the snapshot lacks; return them."""
    missing = missing_inputs(project_path, catalog, submitted_pipeline(run), files, _hint(project_path, exclude_data))
    for item in missing:
        console.print(f"[yellow]Warning:[/yellow] {item.message}", highlight=False)
    return missing


def confirm_missing_inputs(missing: list[MissingInput], strict: bool) -> None:
    """Stop before uploading with ``--strict``; ask in a terminal; else go on with the warnings."""
    if not missing:
        return
    count = f"{len(missing)} input{'s' if len(missing) > 1 else ''} of the pipeline"
    if strict:
        raise PluginError(f"{count} not in the snapshot (--strict): nothing was uploaded")
    if sys.stdin.isatty() and not click.confirm(f"{count} not in the snapshot. Submit anyway?", err=True):
        raise PluginError("Not submitted: nothing was uploaded")


def submitted_pipeline(run: RunArguments) -> Any:
    """The registered pipeline, filtered by ``--tags`` and ``--nodes`` as ``kedro run`` does."""
    from kedro.framework.project import pipelines

    tags = [tag for tag in run.tags.split(",") if tag]
    nodes = [node for node in run.nodes.split(",") if node]
    return pipelines[run.pipeline].filter(tags=tags or None, node_names=nodes or None)


def _hint(project_path: Path, exclude_data: bool) -> str:
    if exclude_data:
        return "use `--include-data`"
    rules = ignore_file(project_path)
    return f"{rules.name} leaves it out" if rules else "the snapshot's fixed rules leave it out"
