"""``kedro azureml sweep --backend local``: real ``kedro run`` trials tracked to the embedded SQLite store.

What is asserted is read back from the store (runs, tags, params, metrics) or from files the trials
write themselves, never from the sweep's own tally.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.kedro_project import KEDRO, KedroProject, clean_env, run_kedro

pytestmark = pytest.mark.slow

PARENT = "mlflow.parentRunId"

# Trials of this pipeline note their process's start and end in a file (the sweep's own process, which
# also imports settings.py, does not: it is no trial), fail on a negative alpha, and wait on request.
SWEEP_PIPELINES = """
import os
import time
from pathlib import Path

from kedro.pipeline import Pipeline, node


def evaluate(model):
    if model["alpha"] < 0:
        raise ValueError("alpha must not be negative")
    if os.environ.get("PROBE_HANG_DIR"):
        Path(os.environ["PROBE_HANG_DIR"], str(os.getpid())).write_text("running")
        time.sleep(300)
    time.sleep(model.get("sleep", 0))
    return {"accuracy": 1.0 - abs(model["alpha"] - 0.3)}


def register_pipelines():
    training = Pipeline([node(evaluate, "params:model", "model_metrics", name="evaluate")])
    return {"__default__": training}
"""

LIFETIME_PROBE = """

import atexit as _atexit
import os as _os
import time as _time

if _os.environ.get("KEDRO_AZUREML_MLFLOW_SWEEP_TRIAL") and _os.environ.get("PROBE_LIFETIMES"):
    def _note(event):
        with open(_os.environ["PROBE_LIFETIMES"], "a") as _file:
            _file.write(f"{event} {_os.getpid()} {_time.time()}\\n")

    _note("start")
    _atexit.register(_note, "end")
"""


def _sweep_project(project: KedroProject) -> KedroProject:
    project.write("src/probe/pipeline_registry.py", SWEEP_PIPELINES)
    project.write("conf/base/parameters.yml", "model:\n  alpha: 0.1\n  sleep: 0\n")
    return project


def _runs(project: KedroProject, experiment: str) -> tuple[object, list[object]]:
    """The one parent sweep run of the experiment and every child run (each checked to point at it)."""
    runs = project.runs(experiment=experiment)
    parents = [run for run in runs if PARENT not in run.data.tags]
    assert len(parents) == 1, [(run.info.run_id, run.data.tags) for run in runs]
    children = [run for run in runs if PARENT in run.data.tags]
    assert {run.data.tags[PARENT] for run in children} <= {parents[0].info.run_id}
    return parents[0], sorted(children, key=lambda run: int(run.data.tags["kedro.sweep.trial"]))


def test_a_grid_sweep_of_the_starter_gives_a_parent_and_a_child_run_per_value(starter_project: Path):
    project = KedroProject(starter_project, package="demo")
    result = run_kedro(
        [
            "azureml", "sweep", "--backend", "local", "--objective", "model_metrics.accuracy", "--goal", "maximize",
            "--search", "model.C=choice(0.01, 1.0, 10.0)",
        ],
        starter_project,
        timeout=900,
        check=True,
    )  # fmt: skip
    parent, children = _runs(project, "demo")
    assert [run.data.params["model.C"] for run in children] == ["0.01", "1.0", "10.0"]
    assert all(run.info.status == "FINISHED" for run in [parent, *children])
    assert all(run.info.experiment_id == parent.info.experiment_id for run in children)
    objectives = {run.info.run_id: run.data.metrics["model_metrics.accuracy"] for run in children}
    best_id = max(objectives, key=objectives.__getitem__)
    assert parent.data.tags["kedro.sweep.best_run_id"] == best_id
    assert parent.data.metrics["best.model_metrics.accuracy"] == objectives[best_id]
    assert parent.data.params["search.model.C"] == "choice(0.01, 1.0, 10.0)"
    assert parent.data.params["sweep.sampling"] == "grid"
    assert parent.data.params["sweep.goal"] == "maximize"
    assert best_id in result.stderr.replace("\n", "")


def _max_overlap(lifetimes: Path) -> tuple[int, int]:
    """The most trial processes alive at once, and how many there were, from their own notes."""
    events = []
    for line in lifetimes.read_text().splitlines():
        event, pid, stamp = line.split()
        events.append((float(stamp), 0 if event == "end" else 1, pid))
    starts = {pid for _, kind, pid in events if kind == 1}
    ends = {pid for _, kind, pid in events if kind == 0}
    assert starts == ends, "a trial process did not note its end"
    alive = peak = 0
    for _, kind, _ in sorted(events):  # an end at the same instant as a start counts first
        alive += 1 if kind == 1 else -1
        peak = max(peak, alive)
    return peak, len(starts)


def test_random_sampling_runs_at_most_max_concurrent_trials_at_once(project: KedroProject, tmp_path: Path):
    _sweep_project(project)
    project.write("src/probe/settings.py", (project.path / "src/probe/settings.py").read_text() + LIFETIME_PROBE)
    lifetimes = tmp_path / "lifetimes.txt"
    run_kedro(
        [
            "azureml", "sweep", "--backend", "local", "--objective", "model_metrics.accuracy", "--goal", "maximize",
            "--search", "model.alpha=uniform(0, 1)", "--max-trials", "5", "--max-concurrent", "2", "--seed", "4",
            "--params", "model.sleep=1",
        ],
        project.path,
        extra_env={"PROBE_LIFETIMES": str(lifetimes)},
        timeout=900,
        check=True,
    )  # fmt: skip
    peak, trials = _max_overlap(lifetimes)
    assert trials == 5
    assert peak == 2
    parent, children = _runs(project, "probe")
    alphas = [float(run.data.params["model.alpha"]) for run in children]
    assert len(children) == 5 and len(set(alphas)) == 5 and all(0 <= alpha <= 1 for alpha in alphas)
    assert all(run.data.params["model.sleep"] == "1" for run in children)
    assert parent.data.params["sweep.seed"] == "4"
    assert parent.data.params["sweep.params.model.sleep"] == "1"


def test_a_failing_trial_is_a_failed_child_run_not_a_failed_sweep(project: KedroProject):
    _sweep_project(project)
    result = run_kedro(
        [
            "azureml", "sweep", "--backend", "local", "--objective", "model_metrics.accuracy", "--goal", "maximize",
            "--search", "model.alpha=choice(-1, 0.3, 0.5)",
        ],
        project.path,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    parent, children = _runs(project, "probe")
    assert [run.info.status for run in children] == ["FAILED", "FINISHED", "FINISHED"]
    assert "alpha must not be negative" in children[0].data.tags["kedro.error"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["kedro.sweep.best_run_id"] == children[1].info.run_id
    assert parent.data.metrics["best.model_metrics.accuracy"] == 1.0
    log = project.path / ".kedro_azureml_mlflow" / "sweeps" / parent.info.run_id / "trial-1.log"
    assert "alpha must not be negative" in log.read_text()


def test_ctrl_c_stops_the_trials_and_ends_every_run_killed(project: KedroProject, tmp_path: Path):
    _sweep_project(project)
    hang_dir = tmp_path / "hanging"
    hang_dir.mkdir()
    sweep = subprocess.Popen(
        [
            KEDRO, "azureml", "sweep", "--backend", "local", "--objective", "model_metrics.accuracy",
            "--goal", "maximize", "--search", "model.alpha=choice(0.1, 0.2, 0.3)", "--max-concurrent", "2",
        ],
        cwd=project.path,
        env=clean_env(PROBE_HANG_DIR=str(hang_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while len(list(hang_dir.iterdir())) < 2 and sweep.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(list(hang_dir.iterdir())) == 2, "the two trials never reached their node"
        sweep.send_signal(signal.SIGINT)
        output, _ = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, output
    parent, children = _runs(project, "probe")
    assert len(children) == 2  # the third trial never started
    assert [run.info.status for run in [parent, *children]] == ["KILLED"] * 3, output
    trial_pids = {int(path.name) for path in hang_dir.iterdir()}
    assert not any(Path(f"/proc/{pid}").exists() for pid in trial_pids), "a trial process outlived the sweep"


OBJECTIVE = ["--objective", "model_metrics.accuracy"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--search", "model.alpha=choice(0.1, 0.2", *OBJECTIVE], "does not parse"),
        (["--search", "model.alpah=choice(0.1)", *OBJECTIVE], "did you mean 'model.alpha'"),
        (["--search", "model.alpha=normal(0, 1)", "--sampling", "grid", *OBJECTIVE],
         "grid sampling takes only choice, not normal"),
        (["--search", "model.alpha=choice(0.1)", "--objective", "score_metrics.accuracy"],
         "no output of pipeline '__default__' is logged as metrics under 'score_metrics'"),
        (["--search", "model.alpha=choice(0.1)", *OBJECTIVE, "--early-termination", "bandit"],
         "--early-termination is for sweeps on Azure ML; leave it out with --backend local"),
        (["--search", "model.alpha=choice(0.1)", *OBJECTIVE, "--exclude-data"],
         "--include-data/--exclude-data is for sweeps on Azure ML; leave it out with --backend local"),
    ],
)  # fmt: skip
def test_a_bad_sweep_is_one_error_line_before_any_run(project: KedroProject, args: list[str], message: str):
    _sweep_project(project)
    result = run_kedro(["azureml", "sweep", "--backend", "local", "--goal", "maximize", *args], project.path)
    assert result.returncode == 1
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.stdout + result.stderr
    assert project.runs(experiment="probe") == []
    assert not (project.path / ".kedro_azureml_mlflow" / "sweeps").exists()


def test_the_timeout_stops_running_trials_and_starts_no_more(project: KedroProject, tmp_path: Path):
    _sweep_project(project)
    hang_dir = tmp_path / "hanging"
    hang_dir.mkdir()
    result = run_kedro(
        [
            "azureml", "sweep", "--backend", "local", *OBJECTIVE, "--goal", "maximize",
            "--search", "model.alpha=choice(0.1, 0.2, 0.3)", "--max-concurrent", "2", "--timeout", "0.5",
        ],
        project.path,
        extra_env={"PROBE_HANG_DIR": str(hang_dir)},
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No trial logged the objective 'model_metrics.accuracy'" in result.stderr
    parent, children = _runs(project, "probe")
    assert parent.data.tags["kedro.sweep.stopped"] == "timeout"
    assert parent.info.status == "FAILED"
    assert [run.info.status for run in children] == ["KILLED", "KILLED"]  # the third trial never started
