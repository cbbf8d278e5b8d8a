"""How long `kedro run` takes to end against a tracking server that accepts connections and never answers.

The project's pipeline saves a model (``MlflowModelDataset``, saved in the background after its node)
and figures, so the end waits for the model as well as for the tracking agent: one
``tracking.max_wait_seconds`` must bound both (issue 15, item 8). The delay is observed from outside:
from Kedro's ``Pipeline execution completed successfully.`` line to the process's exit, not the plugin's
own "waited" line. Target: at most ``max_wait_seconds`` + 1 s, when saving the model (measured against an
embedded store that answers: MLflow infers its pip requirements in a subprocess) takes less than that.

Run:  .venv/bin/python benchmarks/silent_end.py [--repeat N] [--max-wait S ...]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from benchmarks.harness.common import REPO, bench_env, tail
from benchmarks.harness.projects import make_base_project, project_copy
from tests.artifact_project import use_artifact_pipeline
from tests.kedro_project import KedroProject

PIPELINE_DONE = "Pipeline execution completed successfully"


def silent_server() -> str:
    """A listener that accepts connections and never answers (held until this process exits)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            held.append(listener.accept()[0])

    threading.Thread(target=hold, name="silent-server", daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def end_delay(kedro: Path, project: Path) -> float:
    """Seconds from the pipeline's completion line to the exit of `kedro run` (which must succeed)."""
    process = subprocess.Popen(
        [str(kedro), "run"], cwd=project, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    done_at: float | None = None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if done_at is None and PIPELINE_DONE in line:
            done_at = time.monotonic()
    process.wait()
    exited = time.monotonic()
    if process.returncode != 0 or done_at is None:
        sys.exit(f"kedro run failed or never completed its pipeline:\n{tail(''.join(lines))}")
    return exited - done_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per max_wait (default 3)")
    parser.add_argument("--max-wait", type=float, nargs="+", default=[10.0, 30.0], help="max_wait_seconds to try")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "silent-end")
    args = parser.parse_args()
    kedro = Path(sys.executable).with_name("kedro")
    shutil.rmtree(args.work, ignore_errors=True)
    base = make_base_project(args.work, kedro)
    uri = silent_server()
    print("| tracking server | end delay, each run (s) | worst (s) | target |")
    print("| --- | --- | ---: | --- |")
    answering = project_copy(base, "answering")
    use_artifact_pipeline(KedroProject(answering, "bench"))
    end_delay(kedro, answering)  # untimed: creates the embedded store
    saved = [end_delay(kedro, answering) for _ in range(args.repeat)]
    print(f"| embedded SQLite (answers): the model's save and upload | {_each(saved)} | {max(saved):.1f} | — |")
    for max_wait in args.max_wait:
        project = project_copy(base, f"silent-{max_wait:g}")
        use_artifact_pipeline(
            KedroProject(project, "bench"), tracking_extra=f"  tracking_uri: {uri}\n  max_wait_seconds: {max_wait}\n"
        )
        delays = [end_delay(kedro, project) for _ in range(args.repeat)]
        worst = max(delays)
        verdict = "met" if worst <= max_wait + 1 else "missed"
        label = f"never answers, max_wait_seconds {max_wait:g}"
        print(f"| {label} | {_each(delays)} | {worst:.1f} | ≤ {max_wait + 1:g}: {verdict} |")


def _each(delays: list[float]) -> str:
    return ", ".join(f"{delay:.1f}" for delay in delays) + f" (median {statistics.median(delays):.1f})"


if __name__ == "__main__":
    main()
