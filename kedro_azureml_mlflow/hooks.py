"""The Kedro hooks: one MLflow run per ``kedro run``, params and metrics logged automatically.

The hooks decide *what* to log and hand it to a :class:`TrackingWriter`, which talks to the
server off the pipeline's critical path. ParallelRunner's worker processes build their own
hook instances (from the entry point), so the parent passes them the run through an
environment variable and each worker logs its nodes' metrics straight into that run.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_azureml_mlflow.artifacts import handoff
from kedro_azureml_mlflow.artifacts.auto import ArtifactRules
from kedro_azureml_mlflow.artifacts.model_dataset import capture_input_examples
from kedro_azureml_mlflow.catalog_lookup import declared_dataset
from kedro_azureml_mlflow.config import PluginConfig
from kedro_azureml_mlflow.config_loading import load_plugin_config, register_config_pattern, tracking_switched_off
from kedro_azureml_mlflow.project import ProjectInfo, conf_dirs_of
from kedro_azureml_mlflow.redaction import Redactor, activate, scrub
from kedro_azureml_mlflow.tracking.batching import Batch, chunk
from kedro_azureml_mlflow.tracking.journal import Journal, RunHeader, append_record, journal_directory
from kedro_azureml_mlflow.tracking.metrics import is_metrics_dataset, to_metric_records
from kedro_azureml_mlflow.tracking.params import PreparedParams, max_params_for, prepare_params
from kedro_azureml_mlflow.tracking.ranks import tracks_this_process
from kedro_azureml_mlflow.tracking.run_info import is_parallel, pipeline_names, run_tags
from kedro_azureml_mlflow.tracking.writer import TrackingWriter, WriterReport, now_ms

logger = logging.getLogger(__name__)
_plugin_logger = logging.getLogger("kedro_azureml_mlflow")
if _plugin_logger.level == logging.NOTSET:
    # Kedro's default logging shows INFO only for `kedro` and the project; say where runs go.
    _plugin_logger.setLevel(logging.INFO)

WORKER_ENV = "KEDRO_AZUREML_MLFLOW_RUN"


@dataclass(frozen=True)
class MetricRules:
    """Which outputs are metrics and how their names are built (also sent to workers)."""

    patterns: tuple[str, ...]
    separator: str

    def records(self, outputs: dict[str, Any], catalog: Any) -> Batch:
        from kedro_azureml_mlflow.datasets import MlflowMetricsDataset

        batch = Batch()
        stamp = now_ms()
        for name, value in outputs.items():
            declared = declared_dataset(catalog, name)
            is_declared = isinstance(declared, MlflowMetricsDataset)
            if not (is_declared or is_metrics_dataset(name, self.patterns)):
                continue
            key = (declared.prefix if is_declared and declared.prefix else None) or name
            records = to_metric_records(key, value, self.separator, stamp)
            if records is None:
                logger.warning(
                    "Output '%s' matches tracking.metrics.datasets but is not a number, a dict of "
                    "numbers or a list of numbers; not logged",
                    name,
                )
                continue
            batch.metrics.extend(records)
        return batch


@dataclass
class _TrackedRun:
    writer: TrackingWriter
    rules: MetricRules
    pid: int
    description: str
    artifact_rules: ArtifactRules


class AzureMLMlflowHooks:
    """Registered through the ``kedro.hooks`` entry point; no ``settings.py`` edits needed."""

    def __init__(self) -> None:
        self._config: PluginConfig | None = None
        self._project: ProjectInfo | None = None
        self._run: _TrackedRun | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Register ``azureml.yml`` with the project's config loader and validate it early."""
        from kedro.framework import project as kedro_project

        loader = context.config_loader
        register_config_pattern(loader)
        dirs, env = conf_dirs_of(loader, Path(loader.conf_source), context.env)
        package = kedro_project.PACKAGE_NAME or Path(context.project_path).name
        self._project = ProjectInfo(Path(context.project_path), package, env, dirs)
        self._config = load_plugin_config(loader, list(dirs))

    @hook_impl(trylast=True)  # after kedro-mlflow's: its run, if it opened one, is the run
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        """Open (or resume) the run and queue its params; fail fast on bad workspace/params."""
        self._run = None
        config, project = self._config, self._project
        if config is None or project is None or not self._tracking_wanted(config, run_params):
            return
        from kedro_azureml_mlflow.tracking.coexist import active_run_target, kedro_mlflow_owns_it
        from kedro_azureml_mlflow.tracking.target import resolve_target

        target = active_run_target() or resolve_target(config, project)
        handoff.set_target(lambda: target)
        redactor = activate(config.tracking.redact, target.tracking_uri)
        prepared = self._params(config, catalog, redactor, max_params_for(target.tracking_uri))
        if kedro_mlflow_owns_it() and target.resume_run_id:
            prepared.params = []  # kedro-mlflow logs them itself, under its own names
        names = pipeline_names(run_params)
        header = RunHeader(
            tracking_uri=target.tracking_uri,
            experiment_name=target.experiment_name,
            run_id=target.resume_run_id,
            run_name=config.tracking.run_name or "+".join(names),
            tags=run_tags(run_params, project.path, project.env, redactor),
            start_time_ms=now_ms(),
        )
        journal = Journal(journal_directory(project.path), header)
        writer = TrackingWriter(
            header,
            journal,
            config.tracking.flush_interval_seconds,
            resume=target.resume_run_id is not None,
            connect=target.client,
        ).start()
        handoff.install(handoff.Handoff(writer.upload, _staging(project), config.tracking.models.registration))
        writer.log(Batch(params=prepared.params, tags=prepared.tags))
        handoff.hand_over_params(prepared.kept)
        rules = MetricRules(tuple(config.tracking.metrics.datasets), config.tracking.params.separator)
        self._run = _TrackedRun(writer, rules, os.getpid(), target.description, _artifact_rules(config))
        if is_parallel(run_params):
            self._share_with_workers(writer, rules, target, config)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
        capture_input_examples(node, catalog, inputs)

    @hook_impl
    def after_node_run(self, node: Any, catalog: Any, outputs: dict[str, Any]) -> None:
        """Queue the metric-like outputs; in a ParallelRunner worker, send them at once."""
        run = self._run
        if run is not None and run.pid == os.getpid():
            run.writer.log(run.rules.records(outputs, catalog))
            run.artifact_rules.log_outputs(outputs, catalog)
        elif os.environ.get(WORKER_ENV):
            _log_from_worker(json.loads(os.environ[WORKER_ENV]), outputs, catalog)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._close("FINISHED")

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any]) -> None:
        """End the run FAILED with the error recorded; Kedro re-raises the error itself."""
        run = self._run
        if run is not None and run.pid == os.getpid():
            message = scrub(f"{type(error).__name__}: {error}")
            run.writer.log(Batch(tags=[("kedro.error", message[:5000]), ("kedro.error_type", type(error).__name__)]))
            self._close("FAILED", quiet_failure=True)

    # --- helpers ------------------------------------------------------------------------------

    def _tracking_wanted(self, config: PluginConfig, run_params: dict[str, Any]) -> bool:
        if not config.tracking.enabled or tracking_switched_off() or not tracks_this_process():
            return False
        skipped = set(config.tracking.disable_for_pipelines) & set(pipeline_names(run_params))
        if skipped:
            logger.info("Not tracking: pipeline %s is in tracking.disable_for_pipelines", ", ".join(sorted(skipped)))
        return not skipped

    @staticmethod
    def _params(config: PluginConfig, catalog: Any, redactor: Redactor, max_params: int | None) -> PreparedParams:
        if not config.tracking.params.log or "parameters" not in catalog:
            return PreparedParams()
        return prepare_params(redactor.params(catalog.load("parameters") or {}), config.tracking.params, max_params)

    def _share_with_workers(
        self, writer: TrackingWriter, rules: MetricRules, target: Any, config: PluginConfig
    ) -> None:
        """Worker processes start after this hook: give them the run (waits until it exists).

        If the run could not be opened, workers append to this run's journal instead, so one
        ``kedro azureml sync`` later creates one run holding every worker's metrics.
        """
        run_id = writer.wait_for_run()
        workspace = target.workspace
        os.environ[WORKER_ENV] = json.dumps(
            {
                "tracking_uri": target.tracking_uri,
                "run_id": run_id,
                "parent_journal": None if run_id else str(writer.journal.open()),
                "rules": asdict(rules),
                "journal_dir": str(writer.journal.directory),
                "workspace": asdict(workspace.ref) if workspace else None,
                "credentials": config.credentials.model_dump(mode="json"),
                "flush_interval": config.tracking.flush_interval_seconds,
            }
        )

    def _close(self, status: str, quiet_failure: bool = False) -> None:
        run, self._run = self._run, None
        os.environ.pop(WORKER_ENV, None)
        if run is None or run.pid != os.getpid():
            return
        handoff.finish()
        report = run.writer.close(status)
        handoff.uninstall()
        _announce(report, run.description, status)
        if self._config and self._config.tracking.on_error == "fail" and report.journaled and not quiet_failure:
            from kedro_azureml_mlflow.errors import PluginError

            raise PluginError(
                f"Tracking failed and tracking.on_error is 'fail': {report.journaled} requests were kept in "
                f"{report.journal.path}; send them with `kedro azureml sync`"
            )


def _artifact_rules(config: PluginConfig) -> ArtifactRules:
    settings = config.tracking.artifacts
    return ArtifactRules(tuple(settings.datasets), settings.dataframe_format, settings.max_mb)


def _staging(project: ProjectInfo) -> Path:
    return project.path / handoff.STAGING_DIRNAME / f"{os.getpid()}-{now_ms()}"


def _log_from_worker(shared: dict[str, Any], outputs: dict[str, Any], catalog: Any) -> None:
    """In a ParallelRunner worker: send this node's metrics into the parent's run, now."""
    from kedro_azureml_mlflow.tracking.target import worker_client

    batch = MetricRules(tuple(shared["rules"]["patterns"]), shared["rules"]["separator"]).records(outputs, catalog)
    if not batch:
        return
    if shared["run_id"] is None:
        for part in chunk(batch):
            append_record(Path(shared["parent_journal"]), part.to_json())
        return
    header = RunHeader(shared["tracking_uri"], None, shared["run_id"], None, {}, now_ms())
    writer = TrackingWriter(
        header,
        Journal(Path(shared["journal_dir"]), header),
        shared["flush_interval"],
        resume=True,
        connect=lambda: worker_client(shared),
    ).start()
    writer.log(batch)
    writer.close("FINISHED")


def _announce(report: WriterReport, description: str, status: str) -> None:
    where = f"run {report.run_id} in {description}" if report.run_id else description
    logger.info(
        "MLflow: %s %s (%d tracking requests)",
        "tracked" if status == "FINISHED" else "marked FAILED",
        where,
        report.requests,
    )
    for problem in report.dropped:
        logger.warning("MLflow refused and dropped: %s", problem)
    if report.journaled:
        logger.warning(
            "MLflow: %d requests could not be sent and were kept in %s; send them later with `kedro azureml sync`",
            report.journaled,
            report.journal.path,
        )


hooks = AzureMLMlflowHooks()
