"""The Kedro hooks: one MLflow run per ``kedro run``, params and metrics logged automatically.

The hooks decide *what* to log and hand it to the tracking agent, a process of its own that
owns the MLflow run (``tracking/agent.py``): this process never imports MLflow unless the
project's own code does. ParallelRunner's workers build their own hook instances (from the entry
point) and send their nodes' metrics to the same agent session (``tracking/pipeline_side/worker.py``),
joined once per worker process from what this process handed over (``io/worker_handoff.py``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.framework.hooks import hook_impl

from kedro_azureml_mlflow.core.redaction import Redactor, activate, scrub
from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.io.artifacts.auto import ArtifactRules
from kedro_azureml_mlflow.io.artifacts.model_dataset import capture_input_examples
from kedro_azureml_mlflow.io.metrics_dataset import declared_metric_names
from kedro_azureml_mlflow.io.worker_handoff import ArtifactShare, received, share_tracking, withdraw_tracking
from kedro_azureml_mlflow.settings.config_loading import (
    load_plugin_config,
    register_config_pattern,
    tracking_switched_off,
)
from kedro_azureml_mlflow.settings.project import ProjectInfo, conf_dirs_of
from kedro_azureml_mlflow.tracking.pipeline_side.steps import current_step, enter_step, in_current_step
from kedro_azureml_mlflow.tracking.pipeline_side.tracked_run import Handover, TrackedRun
from kedro_azureml_mlflow.tracking.pipeline_side.worker import WorkerLink
from kedro_azureml_mlflow.tracking.plan.child_runs import step_of, step_tags
from kedro_azureml_mlflow.tracking.plan.coexist import active_run_target, kedro_mlflow_owns_it
from kedro_azureml_mlflow.tracking.plan.params import PreparedParams, max_params_for, prepare_params
from kedro_azureml_mlflow.tracking.plan.ranks import tracks_this_process
from kedro_azureml_mlflow.tracking.plan.run_info import pipeline_names
from kedro_azureml_mlflow.tracking.plan.target import plan_target
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.protocol import Report
from kedro_azureml_mlflow.tracking.wire.records import ArtifactUpload, for_step

if TYPE_CHECKING:
    from kedro.framework.context import KedroContext
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline
    from kedro.pipeline.node import Node

    from kedro_azureml_mlflow.settings.config import PluginConfig

logger = logging.getLogger(__name__)
_plugin_logger = logging.getLogger("kedro_azureml_mlflow")
if _plugin_logger.level == logging.NOTSET:
    # Kedro's default logging shows INFO only for `kedro` and the project; say where runs go.
    _plugin_logger.setLevel(logging.INFO)


class AzureMLMlflowHooks:
    """Registered through the ``kedro.hooks`` entry point; no ``settings.py`` edits needed."""

    def __init__(self) -> None:
        self._config: PluginConfig | None = None
        self._run: TrackedRun | None = None
        self._artifact_rules: ArtifactRules | None = None
        self._worker: tuple[int, WorkerLink] | None = None  # in a ParallelRunner worker: (its pid, its link)
        self._announced: set[tuple[int, str]] = set()  # (the run's handover, step): its nodes tagged

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Validate ``azureml.yml`` early and start (or reach) the tracking agent right away."""
        from kedro.framework import project as kedro_project

        loader = context.config_loader
        register_config_pattern(loader)
        dirs, env = conf_dirs_of(loader, Path(loader.conf_source), context.env)
        package = kedro_project.PACKAGE_NAME or Path(context.project_path).name
        project = ProjectInfo(Path(context.project_path), package, env, dirs)
        self._config = config = load_plugin_config(loader, list(dirs))
        on = config.tracking.enabled and not tracking_switched_off() and tracks_this_process()
        self._run = TrackedRun(config, project) if on else None
        handoff.set_target(lambda: plan_target(config, project).realise())  # datasets that load from a run

    @hook_impl
    def after_catalog_created(self, catalog: Any, save_version: str, load_versions: dict[str, str]) -> None:
        """Inside a pipeline job's step, datasets that cross steps are read and written in its folders."""
        from kedro_azureml_mlflow.io.step_catalog import reroute

        reroute(catalog, save_version, load_versions)

    @hook_impl(trylast=True)  # after kedro-mlflow's: its run, if it opened one, is the run
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol[Any, Any]
    ) -> None:
        """Ask for the run and hand over its params; fail fast on a bad workspace or params."""
        enter_step(None)  # the run itself, until a node of a step starts
        run, config = self._run, self._config
        if run is None or config is None:
            return
        if not self._tracking_wanted(config, run_params):
            self._run = None
            run.discard()
            withdraw_tracking()  # nor does a session this process was handed (a kedro run inside a node)
            return
        run = self._run = self._join_active_run(run, config)
        try:
            redactor = activate(config.tracking.redact, *filter(None, [run.target.tracking_uri]))
            prepared = self._params(
                config, catalog, redactor, max_params_for(run.target.tracking_uri, run.target.workspace)
            )
            if kedro_mlflow_owns_it() and run.target.resume_run_id:
                prepared.params = []  # kedro-mlflow logs them itself, under its own names
            run.open(run_params, Batch(params=prepared.params, tags=prepared.tags), redactor, pipeline.nodes)
        except Exception:
            self._run = None
            run.discard()
            withdraw_tracking()
            raise
        staged = handoff.Handoff(
            lambda record: run.hand(in_current_step(ArtifactUpload(record))), _staging(run), _registers(config)
        )
        handoff.install(staged)
        handoff.hand_over_params(prepared.kept)
        self._artifact_rules = _artifact_rules(config)
        # Any runner may start worker processes after this (ParallelRunner, a custom one).
        artifacts = ArtifactShare(str(staged.staging), staged.register_models, self._artifact_rules)
        share_tracking(run.worker_share(), artifacts)

    def _parent_session(self) -> WorkerLink | None:
        """In a ParallelRunner worker: its link to the parent's session, joined once per process from the
        hand-off; datasets and node outputs then hand their files to that session (``None`` elsewhere)."""
        pid = os.getpid()
        if self._worker is None or self._worker[0] != pid:  # a forked worker must not use its parent's
            handed = received()
            if handed.session is None:
                return None
            link = WorkerLink(handed.session)
            self._worker = (pid, link)
            if handed.artifacts is not None and handoff.current() is None:
                shared = handed.artifacts
                handoff.join_from_worker(
                    lambda record: link.hand(in_current_step(ArtifactUpload(record))),
                    Path(shared.staging),
                    shared.register_models,
                )
                self._artifact_rules = shared.rules
        return self._worker[1]

    @staticmethod
    def _join_active_run(run: TrackedRun, config: PluginConfig) -> TrackedRun:
        """An MLflow run already active in this process (kedro-mlflow's) is the run: log into it."""
        joined = active_run_target()
        if joined is None:
            return run
        run.discard()
        return TrackedRun(config, run.project, target=joined)

    @hook_impl
    def before_node_run(self, node: Node, catalog: CatalogProtocol[Any, Any], inputs: dict[str, Any]) -> None:
        capture_input_examples(node, catalog, inputs)
        target = self._handover()
        if target is None:
            return
        self._enter_step(target, node)
        target.node_code.enter()

    @hook_impl
    def after_node_run(self, node: Node, catalog: CatalogProtocol[Any, Any], outputs: dict[str, Any]) -> None:
        """Hand the metric-like outputs over (from a ParallelRunner worker: to the same session)."""
        target = self._handover()
        if target is not None:
            batch = target.rules.records(outputs, declared_metric_names(outputs, catalog))
            if batch:
                target.hand(in_current_step(batch))
        if self._artifact_rules is not None:
            self._artifact_rules.log_outputs(outputs, catalog)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._close("FINISHED")

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any]) -> None:
        """End the run FAILED with the error recorded (KILLED if a Ctrl-C caused it); Kedro re-raises it."""
        run = self._local_run()
        if run is not None:
            message = scrub(f"{type(error).__name__}: {error}")
            error_tags = [("kedro.error", message[:5000]), ("kedro.error_type", type(error).__name__)]
            run.hand(Batch(tags=error_tags))
            if current_step() is not None:  # the failed node's step (SequentialRunner) says it too
                run.hand(in_current_step(Batch(tags=error_tags)))
            self._close("KILLED" if run.interrupts.seen else "FAILED", quiet_failure=True)

    # --- helpers ------------------------------------------------------------------------------

    def _local_run(self) -> TrackedRun | None:
        run = self._run
        return run if run is not None and run.pid == os.getpid() else None

    def _handover(self) -> Handover | None:
        """This process's way to the session: the run it opened, or its parent's (a worker)."""
        return self._local_run() or self._parent_session()

    def _enter_step(self, target: Handover, node: Node) -> None:
        """With ``tracking.child_runs``: what the node makes goes to its step's child run, tagged with its nodes."""
        step = step_of(node.namespace)
        nodes = target.steps.get(step) if step is not None else None
        enter_step(step if nodes is not None else None)
        if step is not None and nodes is not None and (id(target), step) not in self._announced:
            self._announced.add((id(target), step))
            target.hand(for_step(step, Batch(tags=step_tags(step, nodes))))

    def _tracking_wanted(self, config: PluginConfig, run_params: dict[str, Any]) -> bool:
        skipped = set(config.tracking.disable_for_pipelines) & set(pipeline_names(run_params))
        if skipped:
            logger.info("Not tracking: pipeline %s is in tracking.disable_for_pipelines", ", ".join(sorted(skipped)))
        return not skipped

    @staticmethod
    def _params(
        config: PluginConfig, catalog: CatalogProtocol[Any, Any], redactor: Redactor, max_params: int | None
    ) -> PreparedParams:
        if not config.tracking.params.log or "parameters" not in catalog:
            return PreparedParams()
        return prepare_params(redactor.params(catalog.load("parameters") or {}), config.tracking.params, max_params)

    def _close(self, status: str, quiet_failure: bool = False) -> None:
        run = self._local_run()
        if run is None:
            return
        self._run = None
        enter_step(None)
        run.start_end_budget()  # one max_wait from here bounds the models' wait for the run and the end's, together
        handoff.finish()  # models still being saved are handed over before the session closes
        report = run.close(status)
        withdraw_tracking()  # the run has ended: no later worker of this process may join it
        handoff.uninstall()
        _announce(report, run.target.description, status)
        if self._config and self._config.tracking.on_error == "fail" and report.journaled and not quiet_failure:
            from kedro_azureml_mlflow.core.errors import PluginError

            raise PluginError(
                f"Tracking failed and tracking.on_error is 'fail': {report.journaled} requests were kept in "
                f"{report.journal_path}; send them with `kedro azureml sync`"
            )


def _artifact_rules(config: PluginConfig) -> ArtifactRules:
    settings = config.tracking.artifacts
    return ArtifactRules(tuple(settings.datasets), settings.dataframe_format, settings.max_mb)


def _staging(run: TrackedRun) -> Path:
    return run.project.path / handoff.STAGING_DIRNAME / f"{os.getpid()}-{time.time_ns()}"


def _registers(config: PluginConfig) -> bool:
    return config.tracking.models.registration


def _announce(report: Report, description: str, status: str) -> None:
    agent = f"; {'warm ' if report.warm else ''}tracking agent {report.agent_pid}" if report.agent_pid else ""
    if report.run_id is None:  # nothing reached the store: never say "tracked"
        logger.warning(
            "MLflow: this run was not tracked: no run could be opened in %s (%s%s)", description, status, agent
        )
    else:
        logger.info(
            "MLflow: %s run %s in %s (%d tracking requests%s)",
            "tracked" if status == "FINISHED" else f"marked {status}",
            report.run_id,
            description,
            report.requests,
            agent,
        )
    if report.waited_seconds >= 1.0:
        logger.info("MLflow: waited %.1f s for tracking after the pipeline", report.waited_seconds)
    for problem in report.dropped:
        logger.warning("MLflow refused and dropped: %s", problem)
    if report.journaled:
        logger.warning(
            "MLflow: %d requests could not be sent and were kept in %s; send them later with `kedro azureml sync`",
            report.journaled,
            report.journal_path,
        )


hooks = AzureMLMlflowHooks()
