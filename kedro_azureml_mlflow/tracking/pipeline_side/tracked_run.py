"""The pipeline process's view of one tracked ``kedro run``: what the hooks call.

Started as soon as the Kedro context exists, so the agent (warm, or starting now) imports
MLflow and prepares the store while Kedro still loads the pipelines and the catalog.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterable
from functools import partial
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.tracking.journal.journal import journal_directory
from kedro_azureml_mlflow.tracking.pipeline_side.interrupts import InterruptWatch
from kedro_azureml_mlflow.tracking.pipeline_side.launcher import agent_endpoint, keep_alive_seconds, reach_agent
from kedro_azureml_mlflow.tracking.pipeline_side.link import AgentLink
from kedro_azureml_mlflow.tracking.pipeline_side.node_code import NodeCode
from kedro_azureml_mlflow.tracking.plan.child_runs import child_runs_wanted, steps_of
from kedro_azureml_mlflow.tracking.plan.metrics import MetricRules
from kedro_azureml_mlflow.tracking.plan.run_info import pipeline_names, run_tags
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec, plan_target
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint
from kedro_azureml_mlflow.tracking.wire.protocol import (
    ExperimentAnswer,
    Report,
    SessionSpec,
    TargetAnswer,
    WorkerShare,
    now_ms,
)
from kedro_azureml_mlflow.tracking.wire.records import Record, to_wire

if TYPE_CHECKING:
    from kedro_azureml_mlflow.core.redaction import Redactor
    from kedro_azureml_mlflow.settings.config import PluginConfig
    from kedro_azureml_mlflow.settings.project import ProjectInfo


_EXPERIMENT_WAIT_SECONDS = 5.0


class Handover(Protocol):
    """What the hooks need in any process: the metric rules, node code's bridge, a way to hand records."""

    rules: MetricRules
    node_code: NodeCode

    @property
    def steps(self) -> dict[str, list[str]]:
        """With ``tracking.child_runs: namespace``: each step (child run) and its nodes; else empty."""

    def hand(self, record: Record) -> None: ...


class TrackedRun:
    """One session with the agent, opened at ``after_context_created``."""

    def __init__(self, config: PluginConfig, project: ProjectInfo, target: TargetSpec | None = None) -> None:
        """``target``: where to track, when something else decided it (a run already active: coexist)."""
        tracking = config.tracking
        self.target = target or plan_target(config, project)
        self.config = config
        self.project = project
        self.rules = MetricRules(tuple(tracking.metrics.datasets), tracking.params.separator)
        self.pid = os.getpid()
        self._steps: dict[str, list[str]] = {}
        self.interrupts = InterruptWatch()  # a Ctrl-C that surfaces as an error still ends the run KILLED
        keep_alive = keep_alive_seconds(tracking.agent.keep_alive_seconds)
        spec = SessionSpec(
            session_id=secrets.token_hex(16),
            target=to_wire(self.target),
            project_path=str(project.path),
            journal_dir=str(journal_directory(project.path)),
            flush_interval=tracking.flush_interval_seconds,
            max_wait=tracking.max_wait_seconds,
            restore_experiment=tracking.restore_deleted_experiment,
            keep_alive=keep_alive,
            child_runs=child_runs_wanted(tracking.child_runs),
        )
        try:
            self.endpoint: Endpoint | None = agent_endpoint(project.path, keep_alive)
            reach: Callable[[], Connection] = partial(
                reach_agent, self.endpoint, project.path, keep_alive, preload_for(self.target)
            )
        except OSError as exc:  # no private directory for the socket: this process journals instead
            self.endpoint, reach = None, partial(_raise, exc)
        self.link = AgentLink(spec, reach)
        self.node_code = NodeCode(
            self.link.run_info, self.link.hand, lambda: self.link.run_header, self.target, tracking.max_wait_seconds
        )

    @property
    def steps(self) -> dict[str, list[str]]:
        return self._steps

    def open(self, run_params: dict[str, Any], first: Batch, redactor: Redactor, nodes: Iterable[Any] = ()) -> None:
        """Ask for the run (the agent creates it) and hand over its params; fail fast on a bad workspace.

        ``nodes``: the pipeline's, whose top-level namespaces are the child runs (``tracking.child_runs``).
        """
        if self.link.spec.child_runs:
            self._steps = steps_of(nodes)
        if self.target.workspace is not None:
            answer = self.link.wait_for(TargetAnswer, self.config.tracking.max_wait_seconds)
            if answer is not None and answer.error:
                self.link.discard()
                raise PluginError(answer.error)
        name = self.config.tracking.run_name or "+".join(pipeline_names(run_params))
        self.interrupts.start()
        self.link.open_run(name, run_tags(run_params, self.project.path, self.project.env, redactor), now_ms())
        if first:
            self.link.hand(first)
        self.node_code.arm()
        self._await_experiment()

    def _await_experiment(self) -> None:
        """A warm agent looks the experiment up in milliseconds: its answer (a deleted experiment is
        logged by the link, in one line) then comes before the pipeline's first line. A cold one is
        still importing MLflow, and a slow server is not worth holding the pipeline for: the line
        then comes when the agent knows."""
        target = self.link.wait_for(TargetAnswer, 0)
        if target is not None and target.warm:
            self.link.wait_for(ExperimentAnswer, min(self.config.tracking.max_wait_seconds, _EXPERIMENT_WAIT_SECONDS))

    def worker_share(self) -> WorkerShare | None:
        """What a worker process needs to join this session (not the key); ``None``: no socket to join."""
        if self.endpoint is None:
            return None
        return WorkerShare(
            endpoint=self.endpoint,
            session_id=self.link.spec.session_id,
            patterns=self.rules.patterns,
            separator=self.rules.separator,
            journal_dir=self.link.spec.journal_dir,
            target=to_wire(self.target),
            max_wait=self.config.tracking.max_wait_seconds,
            run=self.link.run_header,
            steps=self._steps,
        )

    def hand(self, record: Record) -> None:
        self.link.hand(record)

    def start_end_budget(self) -> None:
        """The pipeline has ended: from now on, ``max_wait`` bounds every wait for tracking, together."""
        self.link.start_end_budget()

    def close(self, status: str) -> Report:
        """End the run; the report says how long this waited for tracking after the pipeline."""
        started = self.link.start_end_budget()
        self.interrupts.stop()
        self.node_code.deactivate()
        report = self.link.close(status)
        report.waited_seconds = time.monotonic() - started
        return report

    def discard(self) -> None:
        self.interrupts.stop()
        self.link.discard()


def _raise(exc: OSError) -> Connection:
    raise exc


def preload_for(target: TargetSpec) -> list[str]:
    """What the agent imports at once: MLflow's client, and the store or SDK this target needs."""
    modules = ["mlflow.tracking"]
    if (target.tracking_uri or "").startswith("sqlite:"):
        modules.append("mlflow.store.tracking.sqlalchemy_store")
    if target.workspace is not None:
        modules += ["azure.ai.ml", "azureml.mlflow"]
    return modules
