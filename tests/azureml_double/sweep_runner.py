"""Runs a sweep job on the emulated compute: its trials as command jobs, sampled as Azure ML samples them.

- **Sampling.** ``Grid``: every combination of the ``choice`` values, in the search space's order (a PUT with
  another distribution is refused, as azure-ai-ml refuses it client-side). ``Random``: independent draws from
  ``random.Random(seed)`` with Azure ML's meaning of each distribution (``loguniform(a, b)`` is
  ``exp(uniform(a, b))``, ``randint(upper)`` draws ``0 … upper-1``, ``q*`` round to a multiple of ``q``).
  ``Bayesian`` needs Azure ML's model of past trials: the double draws randomly instead.
- **Limits.** At most ``limits.maxTotalTrials`` trials (the grid's size when smaller or absent; 1000, Azure's
  ceiling, for random without one), at most ``limits.maxConcurrentTrials`` running at once.
- **Objective.** When a trial ends, its MLflow run's latest value of ``objective.primaryMetric`` is read; the
  best Completed trial so far is the sweep's ``best_child_run_id`` (and ``score``).
- **End.** ``Completed`` once every trial has ended and one of them Completed, else ``Failed``; a cancel
  cancels the running trials (their runs end ``KILLED``), starts no more, and ends the sweep ``Canceled``.
  The sweep's own MLflow run (id = the job's name, created at the PUT) ends with it.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

from tests.azureml_double._http import HttpError
from tests.azureml_double.job_end import end_parent
from tests.azureml_double.parent_jobs import open_parent_run, update_existing
from tests.azureml_double.routing import utcnow
from tests.azureml_double.sweep_jobs import SweepJob, TrialJob

POLL_SECONDS = 0.1
RANDOM_CEILING = 1000  # Azure ML's largest max_total_trials


def _rounded(value: float, q: float) -> float:
    return round(value / q) * q


def draw(rng: random.Random, kind: str, args: list[Any]) -> Any:
    """One value of a wire-format distribution (``["uniform", [0, 1]]`` is ``kind, args``)."""
    if kind == "choice":
        return rng.choice(args[0])
    numbers = [float(arg) for arg in args]
    draws = {
        "uniform": lambda: rng.uniform(numbers[0], numbers[1]),
        "loguniform": lambda: math.exp(rng.uniform(numbers[0], numbers[1])),
        "quniform": lambda: _rounded(rng.uniform(numbers[0], numbers[1]), numbers[2]),
        "qloguniform": lambda: _rounded(math.exp(rng.uniform(numbers[0], numbers[1])), numbers[2]),
        "randint": lambda: rng.randrange(int(numbers[0])),
        "normal": lambda: rng.gauss(numbers[0], numbers[1]),
        "lognormal": lambda: math.exp(rng.gauss(numbers[0], numbers[1])),
        "qnormal": lambda: _rounded(rng.gauss(numbers[0], numbers[1]), numbers[2]),
        "qlognormal": lambda: _rounded(math.exp(rng.gauss(numbers[0], numbers[1])), numbers[2]),
    }
    if kind not in draws:
        raise HttpError(400, "UserError", f"Unknown search space distribution {kind!r}.")
    return draws[kind]()


def space_size(space: dict[str, list[Any]]) -> int | None:
    """The number of combinations when every dimension is a ``choice``; None for an infinite space."""
    if not all(spec[0] == "choice" for spec in space.values()):
        return None
    return math.prod(len(spec[1][0]) for spec in space.values())


def samples(sweep: SweepJob) -> Iterator[dict[str, Any]]:
    """The trials' values in the order they start, at most ``maxTotalTrials`` of them."""
    space, sampling = sweep.search_space, sweep.sampling
    limit = sweep.limits.get("maxTotalTrials")
    if sampling.get("samplingAlgorithmType") == "Grid":
        names = list(space)
        combinations = itertools.product(*(space[name][1][0] for name in names))
        grid = (dict(zip(names, values, strict=True)) for values in combinations)
        yield from itertools.islice(grid, limit)
        return
    rng = random.Random(sampling.get("seed"))
    for _ in range(int(limit or RANDOM_CEILING)):
        yield {name: draw(rng, spec[0], spec[1]) for name, spec in space.items()}


def validate(ws: Any, props: dict[str, Any]) -> None:
    """Refuse, as a 400 at PUT, what a sweep cannot run (the service's own wording is not recorded)."""
    compute_id = str(props.get("computeId") or "")
    compute = compute_id.rstrip("/").split("/")[-1] if compute_id else ""
    if not compute or compute.lower() not in ws.computes:
        raise HttpError(400, "UserError", f"Compute '{compute}' was not found in workspace '{ws.name}'.")
    space = props.get("searchSpace") or {}
    if not space:
        raise HttpError(400, "UserError", "A sweep job needs a search space.")
    if not (props.get("objective") or {}).get("primaryMetric"):
        raise HttpError(400, "UserError", "A sweep job needs objective.primaryMetric.")
    sampling = (props.get("samplingAlgorithm") or {}).get("samplingAlgorithmType")
    not_choice = sorted(name for name, spec in space.items() if spec[0] != "choice")
    if sampling == "Grid" and not_choice:
        raise HttpError(400, "UserError", f"Grid sampling supports only choice; {not_choice[0]} is not a choice.")
    if not (props.get("trial") or {}).get("command"):
        raise HttpError(400, "UserError", "A sweep job needs trial.command.")


class SweepRunner:
    """Runs one sweep job in its own thread (see the module docstring)."""

    def __init__(self, double: Any, sweep: SweepJob) -> None:
        self.double = double
        self.compute = double.compute
        self.sweep = sweep

    def start(self) -> None:
        thread = threading.Thread(target=self.run, name=f"sweep-{self.sweep.name}", daemon=True)
        self.compute.threads.append(thread)
        thread.start()

    def run(self) -> None:
        sweep = self.sweep
        end_status = "Failed"
        try:
            sweep.start_time = utcnow()
            end_status = self._trials()
        except Exception as e:  # noqa: BLE001 - the sweep fails, the double survives
            sweep.error = {"error": {"code": "SystemError", "message": f"azureml double: {e!r}"}}
        finally:
            self._finish(end_status)

    def _trials(self) -> str:
        sweep = self.sweep
        pending = samples(sweep)
        concurrent = int(sweep.limits.get("maxConcurrentTrials") or 1)
        scored: set[str] = set()
        while True:
            running = [trial for trial in list(sweep.trials) if not trial.finished.is_set()]
            if sweep.cancel_requested:
                for trial in running:
                    self.compute.cancel(trial)
            else:
                while len(running) < concurrent and not sweep.all_generated:
                    values = next(pending, None)
                    if values is None:
                        sweep.all_generated = True
                        break
                    running.append(self._start(len(sweep.trials), values))
            for trial in sweep.trials:
                if trial.finished.is_set() and trial.name not in scored:
                    scored.add(trial.name)
                    self._score(trial)
            if not running and (sweep.all_generated or sweep.cancel_requested):
                break
            time.sleep(POLL_SECONDS)
        if sweep.cancel_requested:
            return "Canceled"
        if not any(trial.status == "Completed" for trial in sweep.trials):
            sweep.error = {"error": {"code": "UserError", "message": "All the sweep's trials failed."}}
            return "Failed"
        return "Completed"

    def _start(self, number: int, values: dict[str, Any]) -> TrialJob:
        trial = TrialJob(self.sweep, number, values)
        with self.double.lock:
            self.sweep.ws.jobs[trial.name] = trial
            self.sweep.trials.append(trial)
        fault = self.double.faults.take_job_failure()  # fail_next_job: trials are jobs too
        thread = threading.Thread(target=self.compute._run, args=(trial, fault), name=f"job-{trial.name}", daemon=True)
        self.compute.threads.append(thread)
        thread.start()
        return trial

    def _score(self, trial: TrialJob) -> None:
        """The trial's objective from its MLflow run; the best Completed trial so far becomes the sweep's best."""
        metric = str(self.sweep.objective.get("primaryMetric"))
        if not trial.mlflow_run_id:
            return
        run = self.compute.mlflow.call("GET", "runs/get", query={"run_id": trial.mlflow_run_id})["run"]
        values = {m["key"]: float(m["value"]) for m in run.get("data", {}).get("metrics", [])}
        trial.objective = values.get(metric)
        if trial.status != "Completed" or trial.objective is None or not math.isfinite(trial.objective):
            return
        best = self.sweep.best
        better = max if self.sweep.objective.get("goal") == "Maximize" else min
        if best is None or better(trial.objective, best[1]) != best[1]:
            self.sweep.best = (trial.name, trial.objective)

    def _finish(self, end_status: str) -> None:
        end_parent(self.sweep, self.compute.mlflow, end_status)


def submit(double: Any, ws: Any, name: str, body: dict[str, Any]) -> tuple[SweepJob, bool]:
    """Accept a sweep PUT: a new one answers ``Running`` and starts its trials; an existing one only takes
    the fields Azure lets change."""
    existing = ws.jobs.get(name)
    props = body.get("properties") or {}
    if existing is not None:
        update_existing(existing, props)
        return existing, False
    validate(ws, props)
    sweep = SweepJob(ws, name, copy.deepcopy(body), double.base_url, double.config["log_sig"])
    sweep.space_size = space_size(sweep.search_space)
    open_parent_run(double, sweep, name, props)
    with double.lock:
        ws.jobs[name] = sweep
    SweepRunner(double, sweep).start()
    return sweep, True
