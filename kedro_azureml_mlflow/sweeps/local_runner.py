"""A sweep on this machine: each trial a ``kedro run`` process, at most ``max_concurrent`` at once.

The sweep opens one parent MLflow run; each trial's own ``kedro run`` is tracked by the plugin's hooks
as usual, tagged (``run_info.trial_tags``) as a child of it and found again by its trial number.
The trial's process ends its own run; the sweep only ends a run the process could not (a crash, a
kill), and records a trial that never got as far as a run as a child run of its own, so every trial is
a child run. Ctrl-C (or ``--timeout``) hands each running trial one SIGINT, which the plugin's exit
handler turns into a ``KILLED`` run, and ends the parent ``KILLED`` (or, on a timeout, ``FINISHED``
with what had completed).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kedro_azureml_mlflow.sweeps.search_space import Value
from kedro_azureml_mlflow.sweeps.settings import SweepSettings
from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.plan.run_info import TRIAL_ENV
from kedro_azureml_mlflow.tracking.plan.target import TrackingTarget
from kedro_azureml_mlflow.tracking.wire.batching import Batch, chunk

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

FINISHED, FAILED, KILLED, RUNNING = "FINISHED", "FAILED", "KILLED", "RUNNING"
BEST_RUN_TAG = "kedro.sweep.best_run_id"
TRIAL_TAG = "kedro.sweep.trial"
PARENT_TAG = "mlflow.parentRunId"
_POLL_SECONDS = 0.2
_KILL_GRACE_SECONDS = 60.0  # beyond tracking's own bound (max_wait_seconds) for a trial to end its run


@dataclass(frozen=True)
class TrialCommand:
    """How a trial runs: ``kedro run`` in the project, with the sweep's fixed ``--params`` and its own."""

    project_path: Path
    pipeline: str
    env: str
    fixed_params: str

    def argv(self, values: dict[str, Value]) -> list[str]:
        params = ",".join(filter(None, [self.fixed_params, params_text(values)]))
        return [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--pipeline",
            self.pipeline,
            "--env",
            self.env,
            "--params",
            params,
        ]


def params_text(values: dict[str, Value]) -> str:
    """Trial values as ``kedro run --params`` reads them back with the same types (strings quoted)."""
    return ",".join(f"{name}={_param_value(value)}" for name, value in values.items())


def _param_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


@dataclass
class TrialResult:
    """One trial as it ended: its values, run, status and objective (``None`` if not logged)."""

    number: int
    values: dict[str, Value]
    status: str
    run_id: str | None
    objective: float | None
    seconds: float
    log_path: Path | str  # on Azure ML: the command that prints the trial's log


@dataclass
class SweepOutcome:
    parent_run_id: str
    status: str
    results: list[TrialResult]
    best: TrialResult | None
    stopped: str | None = None  # "interrupted" or "timeout"


@dataclass
class _Running:
    number: int
    values: dict[str, Value]
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float
    stop_sent: float | None = None


@dataclass
class LocalSweep:
    """One sweep: the parent run, the trials, the best written back."""

    settings: SweepSettings
    command: TrialCommand
    target: TrackingTarget
    on_result: Callable[[TrialResult], None]
    fixed: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _stop_reason: str | None = None
    _running: list[_Running] = field(default_factory=list)

    def run(self) -> SweepOutcome:
        client = self.target.client()
        experiment_id = client_ops.experiment_id_for(client, self.target.experiment_name or "Default")
        parent_id = self._open_parent(client, experiment_id)
        logs = self.command.project_path / ".kedro_azureml_mlflow" / "sweeps" / parent_id
        logs.mkdir(parents=True, exist_ok=True)
        try:
            with self._stop_on_interrupt():
                results = self._run_trials(client, experiment_id, parent_id, logs)
        except BaseException as exc:
            # The sweep itself broke (the store, a bug): no trial is left running, the sweep's run says why.
            _stop_all(self._running)
            with suppress(Exception):
                error = f"{type(exc).__name__}: {exc}"[:5000]
                client_ops.log_request(client, parent_id, Batch(tags=[("kedro.error", error)]))
                client_ops.end_run(client, parent_id, FAILED, int(time.time() * 1000))
            raise
        return self._close_parent(client, parent_id, results)

    def _open_parent(self, client: MlflowClient, experiment_id: str) -> str:
        """The sweep's run, holding its definition as params."""
        parent = client.create_run(
            experiment_id, run_name=f"sweep {self.settings.objective}", tags={"kedro.sweep": "parent"}
        )
        parent_id = str(parent.info.run_id)
        params = {**self.settings.as_params(), **{f"sweep.params.{k}": v for k, v in self.fixed.items()}}
        for part in chunk(Batch(params=sorted(params.items()))):
            client_ops.log_request(client, parent_id, part)
        return parent_id

    def _close_parent(self, client: MlflowClient, parent_id: str, results: list[TrialResult]) -> SweepOutcome:
        """The best trial written to the sweep's run, which then ends."""
        best = best_trial(results, self.settings.goal)
        status = self._parent_status(best)
        tags = [("kedro.sweep.stopped", self._stop_reason)] if self._stop_reason else []
        metrics = []
        if best is not None and best.objective is not None:
            tags += [(BEST_RUN_TAG, str(best.run_id)), ("kedro.sweep.best_trial", str(best.number))]
            metrics = [(f"best.{self.settings.objective}", best.objective, int(time.time() * 1000), 0)]
        elif status == FAILED:
            tags.append(("kedro.error", f"no trial logged the objective {self.settings.objective!r}"))
        if tags or metrics:
            client_ops.log_request(client, parent_id, Batch(metrics=metrics, tags=tags))
        client_ops.end_run(client, parent_id, status, int(time.time() * 1000))
        return SweepOutcome(parent_id, status, results, best, self._stop_reason)

    def _parent_status(self, best: TrialResult | None) -> str:
        if self._stop_reason == "interrupted":
            return KILLED
        return FINISHED if best is not None else FAILED

    @contextmanager
    def _stop_on_interrupt(self) -> Iterator[None]:
        """Ctrl-C asks the loop to stop the trials (instead of raising wherever the sweep happens to be)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def interrupted(signum: int, frame: Any) -> None:
            self._stop_reason = "interrupted"
            self._stop.set()

        previous = signal.signal(signal.SIGINT, interrupted)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _run_trials(self, client: MlflowClient, experiment_id: str, parent_id: str, logs: Path) -> list[TrialResult]:
        pending = list(enumerate(self.settings.trials, start=1))
        running = self._running
        results: list[TrialResult] = []
        timeout = self.settings.timeout_minutes
        deadline = time.monotonic() + timeout * 60 if timeout else math.inf
        while pending or running:
            if not self._stop.is_set() and time.monotonic() > deadline:
                self._stop_reason = "timeout"
                self._stop.set()
            if self._stop.is_set():
                pending.clear()
                for trial in running:
                    _ask_to_stop(trial)
            while pending and len(running) < self.settings.max_concurrent:
                number, values = pending.pop(0)
                running.append(self._start(number, values, parent_id, logs))
            for trial in [t for t in running if t.process.poll() is not None]:
                running.remove(trial)
                trial.log.close()
                result = self._settle(client, experiment_id, parent_id, trial, logs)
                results.append(result)
                self.on_result(result)
            time.sleep(_POLL_SECONDS)
        return sorted(results, key=lambda result: result.number)

    def _start(self, number: int, values: dict[str, Value], parent_id: str, logs: Path) -> _Running:
        env = {key: value for key, value in os.environ.items() if key != "MLFLOW_RUN_ID"}
        env[TRIAL_ENV] = json.dumps({"parent_run_id": parent_id, "trial": number})
        log = (logs / f"trial-{number}.log").open("wb")
        # A session of its own: the terminal's Ctrl-C reaches the sweep only, which stops each trial once.
        process = subprocess.Popen(
            self.command.argv(values),
            cwd=self.command.project_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return _Running(number, dict(values), process, log, time.monotonic())

    def _settle(
        self, client: MlflowClient, experiment_id: str, parent_id: str, trial: _Running, logs: Path
    ) -> TrialResult:
        """The trial's run as its process left it; a run still open, or missing, is ended here."""
        stopped = trial.stop_sent is not None
        wanted = KILLED if stopped else (FINISHED if trial.process.returncode == 0 else FAILED)
        run = find_trial_run(client, experiment_id, parent_id, trial.number)
        if run is None:
            run_id = self._record_untracked(client, experiment_id, parent_id, trial, wanted)
            status, metrics = wanted, {}
        else:
            run_id, status, metrics = str(run.info.run_id), str(run.info.status), dict(run.data.metrics)
            if status == RUNNING:
                status = wanted if wanted != FINISHED else FAILED  # exited without ending its run
                client_ops.end_run(client, run_id, status, int(time.time() * 1000))
        objective = metrics.get(self.settings.objective)
        seconds = time.monotonic() - trial.started
        return TrialResult(
            trial.number, trial.values, status, run_id, objective, seconds, logs / f"trial-{trial.number}.log"
        )

    def _record_untracked(
        self, client: MlflowClient, experiment_id: str, parent_id: str, trial: _Running, status: str
    ) -> str:
        """A trial that stopped before its run was opened is still a child run, with its values and exit code."""
        tags = {
            PARENT_TAG: parent_id,
            TRIAL_TAG: str(trial.number),
            "kedro.error": f"kedro run exited {trial.process.returncode} before its run was tracked; see its log",
        }
        run = client.create_run(experiment_id, run_name=f"trial {trial.number}", tags=tags)
        run_id = str(run.info.run_id)
        client_ops.log_request(client, run_id, Batch(params=[(k, str(v)) for k, v in trial.values.items()]))
        client_ops.end_run(client, run_id, status, int(time.time() * 1000))
        return run_id


def _ask_to_stop(trial: _Running) -> None:
    """One SIGINT (the plugin ends the run KILLED); a trial still there after the grace period is killed."""
    if trial.process.poll() is not None:
        return
    if trial.stop_sent is None:
        trial.stop_sent = time.monotonic()
        trial.process.send_signal(signal.SIGINT)
    elif time.monotonic() - trial.stop_sent > _KILL_GRACE_SECONDS:
        trial.process.kill()


def _stop_all(running: list[_Running]) -> None:
    """Stop every trial still running and wait for it (killed after the grace period)."""
    for trial in running:
        _ask_to_stop(trial)
    for trial in running:
        try:
            trial.process.wait(timeout=_KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            trial.process.kill()
            trial.process.wait()


def find_trial_run(client: MlflowClient, experiment_id: str, parent_id: str, number: int) -> Run | None:
    """The run the trial's ``kedro run`` opened, found by its tags; ``None`` if it opened none."""
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{PARENT_TAG}` = '{parent_id}' and tags.`{TRIAL_TAG}` = '{number}'",
        max_results=1,
    )
    return found[0] if found else None


def best_trial(results: list[TrialResult], goal: str) -> TrialResult | None:
    """The finished trial with the best finite objective (the first of equals)."""
    scored = [r for r in results if r.status == FINISHED and r.objective is not None and math.isfinite(r.objective)]
    if not scored:
        return None
    sign = -1.0 if goal == "maximize" else 1.0
    return min(scored, key=lambda r: (sign * float(r.objective or 0.0), r.number))
