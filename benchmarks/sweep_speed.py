"""A local sweep of the starter against the same trials as sequential `kedro run`s.

Makes a project with `kedro new --starter=azureml-mlflow` under benchmarks/.work/sweep/, runs one
untimed `kedro run` (the embedded store exists afterwards), then times, wall clock:

  sequential   6 × `kedro run --params model.C=<value>`, one after the other
  sweep        `kedro azureml sweep --backend local --search "model.C=choice(<the 6 values>)" --max-concurrent 2`

The sequential runs bracket the sweep (3 before it, 3 after), so a machine whose load changes during
the benchmark weighs on both alike. It reads the tracking requests each run reports ("MLflow: tracked
run … (N tracking requests …)"): the sequential runs' output, the sweep's trials' logs. The sweep's
own client calls on the store (parent run, one search per trial, the best) are not tracking requests
of a trial and are listed apart. Every run and trial must have ended FINISHED in the store, or the benchmark exits 1.

Run:  .venv/bin/python benchmarks/sweep_speed.py
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from rich.table import Table

from benchmarks.harness.common import REPO, bench_env, console, run_quiet, tail
from benchmarks.harness.report import header_lines
from benchmarks.starter_run import PACKAGE, make_starter_project

VALUES = ("0.01", "0.1", "0.3", "1.0", "3.0", "10.0")
TARGET_RATIO = 0.7
_REQUESTS = re.compile(r"MLflow: tracked run \w+ in .*?\((\d+) tracking requests", re.DOTALL)


def requests_of(output: str) -> int:
    found = _REQUESTS.findall(output)
    if len(found) != 1:
        sys.exit(f"expected one 'tracked run' line, found {len(found)}:\n{tail(output)}")
    return int(found[0])


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_or_exit(cmd: list[str], project: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = run_quiet(cmd, cwd=project, env=bench_env(), timeout=1800)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"`{' '.join(cmd[1:])}` failed:\n{tail(result.stdout + result.stderr)}")
    return seconds, result.stdout + result.stderr


def store_runs(project: Path) -> list[object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(PACKAGE)
    return list(client.search_runs([experiment.experiment_id], max_results=1000))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "sweep")
    parser.add_argument("--max-concurrent", type=int, default=2)
    args = parser.parse_args()
    kedro = str(Path(sys.executable).parent / "kedro")
    console.print("\n".join(header_lines(None)))
    project = make_starter_project(args.work.resolve(), Path(kedro))
    # Timed sends (after 5, 10, 20 s …) would make a run's request count depend on how long it took on a
    # loaded machine: with them out of the way, equal counts mean the sweep adds no request to a trial.
    azureml_yml = project / "conf" / "base" / "azureml.yml"
    azureml_yml.write_text(
        azureml_yml.read_text().replace("flush_interval_seconds: 5 ", "flush_interval_seconds: 900 ")
    )
    run_or_exit([kedro, "run"], project)  # untimed: the store's tables exist from here on

    sequential_seconds, sequential_cpu, sequential_requests = 0.0, 0.0, []

    def sequential(values: tuple[str, ...]) -> None:
        nonlocal sequential_seconds, sequential_cpu
        for value in values:
            cpu = child_cpu_seconds()
            seconds, output = run_or_exit([kedro, "run", "--params", f"model.C={value}"], project)
            sequential_cpu += child_cpu_seconds() - cpu
            sequential_seconds += seconds
            sequential_requests.append(requests_of(output))

    half = len(VALUES) // 2
    sequential(VALUES[:half])
    search = f"model.C=choice({', '.join(VALUES)})"
    sweep_cmd = [kedro, "azureml", "sweep", "--backend", "local", "--objective", "model_metrics.accuracy"]
    sweep_cmd += ["--goal", "maximize", "--search", search, "--max-concurrent", str(args.max_concurrent)]
    cpu = child_cpu_seconds()
    sweep_seconds, _ = run_or_exit(sweep_cmd, project)
    sweep_cpu = child_cpu_seconds() - cpu
    sequential(VALUES[half:])
    console.print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    runs = store_runs(project)
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    parents = [run for run in runs if run.data.tags.get("kedro.sweep") == "parent"]
    if len(parents) != 1 or len(children) != len(VALUES) or any(r.info.status != "FINISHED" for r in runs):
        sys.exit(f"the store does not hold one finished sweep with {len(VALUES)} finished trials")
    logs = project / ".kedro_azureml_mlflow" / "sweeps" / parents[0].info.run_id
    trial_requests = [requests_of((logs / f"trial-{n}.log").read_text()) for n in range(1, len(VALUES) + 1)]

    ratio = sweep_seconds / sequential_seconds
    table = Table(title=f"{len(VALUES)} trials of the starter", title_justify="left")
    for column in ("what", "wall s", "CPU s", "tracking requests per run"):
        table.add_column(column, justify="left" if column == "what" else "right")
    sequential_row = [f"{sequential_seconds:.1f}", f"{sequential_cpu:.1f}", str(sorted(set(sequential_requests)))]
    table.add_row(f"{len(VALUES)} sequential `kedro run`", *sequential_row)
    sweep_row = [f"{sweep_seconds:.1f}", f"{sweep_cpu:.1f}", str(sorted(set(trial_requests)))]
    table.add_row(f"sweep, --max-concurrent {args.max_concurrent}", *sweep_row)
    console.print(table)
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    console.print(f"sweep / sequential: {ratio:.2f} (target ≤ {TARGET_RATIO}: {verdict})")
    same = sorted(set(trial_requests)) == sorted(set(sequential_requests))
    console.print(f"tracking requests per trial unchanged: {'yes' if same else 'NO'}")
    console.print(
        "the sweep's own store calls: create + log params + end of its run, one search per trial, one log of the best"
    )
    return 0 if ratio <= TARGET_RATIO and same else 1


if __name__ == "__main__":
    sys.exit(main())
