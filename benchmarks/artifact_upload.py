"""A pipeline that saves a 50 MB artifact: `kedro run` tracked, against the same pipeline untracked.

The base project (`harness.projects`) gets one node that returns 50 MB of random bytes, saved to
data/08_reporting/blob.pkl by `pickle.PickleDataset`, and times in fresh subprocesses, interleaved:

  untracked           the plugin's hooks off (DISABLE_HOOKS_FOR_PLUGINS): Kedro saves the file [baseline]
  tracked, embedded   the dataset wrapped in MlflowArtifactDataset; the embedded SQLite store (the file is copied
                      into the store's artifact folder); the tracking agent kept warm between runs
  tracked, HTTP       the same, tracked to a real `mlflow server` that serves artifacts: the 50 MB go up over
                      HTTP, through the counting proxy

It also times writing the file locally (the dataset's own save of the same 50 MB, in this process). The
target: a tracked run takes at most 1.2 × the untracked run + that write. Every run is checked (exit 0,
tracked or not as it should be, nothing journaled), and after the timed runs each tracked scenario's last
run must hold the artifact, whole.

Run:  .venv/bin/python benchmarks/artifact_upload.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from rich.table import Table

from benchmarks.harness.common import REPO, bench_env, console, write
from benchmarks.harness.mlflow_server import MlflowServer
from benchmarks.harness.projects import (
    PACKAGE,
    PLUGIN_DIST,
    azureml_yml,
    disable_hooks,
    make_base_project,
    project_copy,
)
from benchmarks.harness.proxy import CountingProxy
from benchmarks.harness.report import fmt, header_lines, ratio
from benchmarks.harness.runner import TRACKED, Scenario, timed_rounds, warm_up
from benchmarks.harness.scenarios import WARM

SIZE = 50 * 1024 * 1024
TARGET = 1.2
PIPELINE = f"""
import os

from kedro.pipeline import Pipeline, node


def make_blob():
    return os.urandom({SIZE})


def register_pipelines():
    return {{"__default__": Pipeline([node(make_blob, None, "blob", name="make_blob")])}}
"""
PLAIN = {"type": "pickle.PickleDataset", "filepath": "data/08_reporting/blob.pkl"}
WRAPPED = {"type": "kedro_azureml_mlflow.datasets.MlflowArtifactDataset", "dataset": PLAIN, "artifact_path": "blob"}


def project(base: Path, name: str, dataset: dict[str, object]) -> Path:
    copy = project_copy(base, name)
    write(copy / "src" / PACKAGE / "pipeline_registry.py", PIPELINE)
    write(copy / "conf" / "base" / "catalog.yml", json.dumps({"blob": dataset}) + "\n")
    return copy


def write_seconds(repeat: int) -> list[float]:
    """The file written locally by the same dataset, with the same 50 MB: what a tracked run may add on top."""
    from kedro_datasets.pickle import PickleDataset

    data, times = os.urandom(SIZE), []
    with tempfile.TemporaryDirectory() as scratch:
        for attempt in range(repeat):
            dataset = PickleDataset(filepath=str(Path(scratch) / f"blob-{attempt}.pkl"))
            start = time.perf_counter()
            dataset.save(data)
            times.append(time.perf_counter() - start)
    return times


def artifact_size(tracking_uri: str, log: Path) -> int | None:
    """The size of the artifact in the last run the scenario logged (from its own output)."""
    from mlflow.tracking import MlflowClient

    found = TRACKED.search(log.read_text()) if log.exists() else None
    if found is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        local = MlflowClient(tracking_uri).download_artifacts(found.group(1), "blob/blob.pkl", scratch)
        return Path(local).stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each scenario (default 5)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "artifact-upload")
    args = parser.parse_args()
    repeat, started, work = max(1, args.repeat), time.perf_counter(), args.work.resolve()
    kedro_bin = Path(sys.executable).parent / "kedro"
    console.print("\n".join(header_lines(None)))
    base = make_base_project(work, kedro_bin)
    server = MlflowServer(kedro_bin.parent / "mlflow", work / "mlflow-server", serve_artifacts=True)
    server.wait_healthy()
    proxy = CountingProxy(server.port).start()
    try:
        untracked = project(base, "untracked", PLAIN)
        disable_hooks(untracked, PLUGIN_DIST)
        embedded = project(base, "embedded", WRAPPED)
        http = project(base, "http", WRAPPED)
        azureml_yml(http, {"tracking_uri": f"http://127.0.0.1:{proxy.port}"})
        run = [str(kedro_bin), "run"]
        warm = bench_env(**WARM)  # the tracking agent stays up between runs, as on a working day
        scenarios = [
            Scenario("untracked", "untracked (plugin hooks off) [baseline]", "", untracked, run, bench_env(), False),
            Scenario("embedded", "tracked, embedded SQLite (warm agent)", "", embedded, run, warm, True),
            Scenario("http", "tracked, mlflow server over HTTP (warm agent)", "", http, run, warm, True, proxy=proxy),
        ]
        for scenario in scenarios:
            scenario.log = work / "logs" / f"{scenario.key}.log"
        writes = write_seconds(repeat)
        warm_up(scenarios)
        timed_rounds(scenarios, repeat, started)
        sizes = {
            "embedded": artifact_size(f"sqlite:///{(embedded / 'mlflow.db').as_posix()}", scenarios[1].log),
            "http": artifact_size(server.url, scenarios[2].log),
        }
    finally:
        proxy.stop()
        server.stop()
    return report(scenarios, writes, sizes, repeat, work, started)


def report(
    scenarios: list[Scenario],
    writes: list[float],
    sizes: dict[str, int | None],
    repeat: int,
    work: Path,
    started: float,
) -> int:
    untracked = scenarios[0]
    write_time = statistics.median(writes)
    allowed = TARGET * untracked.median + write_time if untracked.median is not None else None
    table = Table(title=f"A 50 MB artifact ({repeat} timed runs each, median)", title_justify="left")
    for column in ("scenario", "median s", "min s", "× untracked", f"≤ {TARGET}× untracked + write ({fmt(allowed)} s)"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for s in scenarios:
        if s.error:
            table.add_row(s.label, "failed", s.error, "", "")
            continue
        verdict = "" if s is untracked else ("yes" if allowed is not None and s.median <= allowed else "no")
        table.add_row(s.label, fmt(s.median), fmt(s.best), ratio(s.median, untracked.median), verdict)
    table.add_row("writing the 50 MB file locally (the dataset's save)", fmt(write_time), fmt(min(writes)), "", "")
    console.print(table)
    wrong = {key: size for key, size in sizes.items() if not _pickled_size(size)}
    for key, size in wrong.items():
        console.print(f"[red]{key}: the run's artifact is {size} bytes, not the 50 MB file[/red]")
    results = {
        "write_seconds": writes,
        "artifact_bytes": sizes,
        **{s.key: {"seconds": s.times, "error": s.error} for s in scenarios},
    }
    write(work / "results.json", json.dumps(results, indent=2) + "\n")
    console.print(f"Total time: {time.perf_counter() - started:.0f}s")
    return 1 if wrong or any(s.error for s in scenarios) else 0


def _pickled_size(size: int | None) -> bool:
    """A pickle of 50 MB of bytes is those bytes plus a few bytes of framing."""
    return size is not None and SIZE < size < SIZE + 64


if __name__ == "__main__":
    sys.exit(main())
