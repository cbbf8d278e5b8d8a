"""How long the starter's example takes: its nodes' own work, and `kedro run` with and without tracking.

Makes a project with `kedro new --starter=azureml-mlflow` under benchmarks/.work/starter/ and times:

  nodes                the example's four nodes called directly (imports excluded): the pipeline's own work
  kedro run, off       `KEDRO_AZUREML_MLFLOW_TRACKING=off kedro run`: Kedro and the plugin, nothing tracked
  kedro run, tracked   `kedro run` tracked to the embedded store (the db exists: one warm-up run first)
  ..., inferred afresh the same, with the model's requirements inferred by MLflow every run (a cache
                       folder that cannot be made), as before the plugin kept them

Run:  .venv/bin/python benchmarks/starter_run.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from rich.table import Table

from benchmarks.harness.common import REPO, STANDALONE, bench_env, console, rel, run_quiet, tail, write
from benchmarks.harness.report import fmt, header_lines
from benchmarks.harness.runner import Scenario, timed_rounds, warm_up
from kedro_azureml_mlflow.core.user_cache import CACHE_ENV

PACKAGE = "bench_starter"
NO_CACHE = "/dev/null/no-cache"  # under a file: the plugin cannot keep what MLflow inferred


def make_starter_project(work: Path, kedro_bin: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    made = run_quiet([str(kedro_bin), "new", "--starter=azureml-mlflow", "--name", PACKAGE], cwd=work, env=bench_env())
    if made.returncode != 0:
        sys.exit(f"kedro new --starter=azureml-mlflow failed:\n{tail(made.stdout + made.stderr)}")
    return work / PACKAGE.replace("_", "-")


def node_seconds(project: Path, repeat: int) -> list[float]:
    env = bench_env(PYTHONPATH=str(project / "src"))
    seconds = []
    for _ in range(repeat):
        result = run_quiet([sys.executable, str(STANDALONE / "starter_nodes.py"), PACKAGE], cwd=project, env=env)
        if result.returncode != 0:
            sys.exit(f"the starter's nodes failed:\n{tail(result.stderr)}")
        seconds.append(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "starter")
    args = parser.parse_args()
    repeat, started = max(1, args.repeat), time.perf_counter()
    kedro_bin = Path(sys.executable).parent / "kedro"
    console.print("\n".join(header_lines(None)))
    project = make_starter_project(args.work.resolve(), kedro_bin)
    console.print(f"Project: {rel(project)}")

    run = [str(kedro_bin), "run"]
    off_env = bench_env(KEDRO_AZUREML_MLFLOW_TRACKING="off")
    scenarios = [
        Scenario("starter_off", "kedro run, tracking off", "", project, run, off_env, tracked=False),
        Scenario(
            "starter_tracked", "kedro run, tracked (embedded SQLite)", "", project, run, bench_env(), tracked=True
        ),
        Scenario(
            "starter_inferred",
            "kedro run, tracked, the model's requirements inferred afresh",
            "",
            project,
            run,
            bench_env(**{CACHE_ENV: NO_CACHE}),
            tracked=True,
        ),
    ]
    for s in scenarios:
        s.log = args.work.resolve() / "logs" / f"{s.key}.log"
    nodes = node_seconds(project, repeat)
    warm_up(scenarios)
    timed_rounds(scenarios, repeat, started)

    table = Table(title=f"The starter's example ({repeat} timed runs each)", title_justify="left")
    for column in ("what", "median s", "min s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row("its four nodes, called directly (no imports)", fmt(statistics.median(nodes)), fmt(min(nodes)))
    for s in scenarios:
        table.add_row(s.label, *((fmt(s.median), fmt(s.best)) if not s.error else ("failed", s.error)))
    console.print(table)
    results = {"nodes": nodes, **{s.key: {"seconds": s.times, "error": s.error} for s in scenarios}}
    write(args.work.resolve() / "results.json", json.dumps(results, indent=2) + "\n")
    console.print(f"Total time: {time.perf_counter() - started:.0f}s")
    return 1 if any(s.error for s in scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
