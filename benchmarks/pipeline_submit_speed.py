"""How much does `submit --split-by` cost the submitter, against today's single command job?

Against the local Azure ML double (real SDK clients), the spaceflights-like test project's
`processing` pipeline (3 nodes) is submitted without `--wait`, so each figure is the time and the
requests of `kedro azureml submit` until Azure ML has accepted the job:

- `single`: one command job (`--split-by none`);
- `3 steps`: a pipeline job, one step per node (`--split-by node`).

Each is submitted twice in a row from the same unchanged project: the second submission shows what
is not uploaded again (the code asset and components are found by their hash). Target: the 3-step
submission takes at most 1.3x the single job's seconds.

Run:  .venv/bin/python benchmarks/pipeline_submit_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from benchmarks.harness.common import REPO, console
from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KEDRO, KedroProject, clean_env
from tests.pipeline_project import make_spaceflights

WORK = REPO / "benchmarks" / ".work" / "pipeline_submit"
TARGET_RATIO = 1.3
SCENARIOS = {"single": ("--split-by", "none"), "3 steps": ("--split-by", "node")}
UPLOADS = ("startPendingUpload", "/components/", "/codes/")


def new_project(root: Path) -> KedroProject:
    root.mkdir(parents=True, exist_ok=True)
    args = [KEDRO, "new", "--name", "probe", "--tools", "none", "--example", "n"]
    subprocess.run(args, cwd=root, env=clean_env(), check=True, capture_output=True, timeout=300)
    return make_spaceflights(KedroProject(root / "probe"))


def submit_once(project: KedroProject, double: AzureMLDouble, split: tuple[str, str]) -> tuple[float, list[dict]]:
    since = double.last_seq()
    command = [KEDRO, "azureml", "submit", "--pipeline", "processing", "--compute", "cpu-cluster", "--include-data"]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, *split], cwd=project.path, env=clean_env(**double.client_env()), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"submit {' '.join(split)} failed:\n{result.stderr[-3000:]}")
    return seconds, double.requests(since)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="submissions per scenario (the first is cold)")
    args = parser.parse_args()
    project = new_project(WORK / "project")
    figures: dict[str, list[tuple[float, int, int]]] = {name: [] for name in SCENARIOS}
    with AzureMLDouble(WORK / "double") as double:
        for _ in range(args.repeat):
            for name, split in SCENARIOS.items():
                seconds, requests = submit_once(project, double, split)
                uploads = sum(
                    1 for r in requests if r["method"] in {"PUT", "POST"} and any(u in r["path"] for u in UPLOADS)
                )
                figures[name].append((seconds, len(requests), uploads))
    for name, rows in figures.items():
        for index, (seconds, count, uploads) in enumerate(rows):
            state = "cold" if index == 0 else "repeat"
            console.print(
                f"{name:8} {state:6} {seconds:6.1f} s  {count:3d} requests  {uploads:2d} upload/component writes"
            )
    single = statistics.median(s for s, _, _ in figures["single"][1:] or figures["single"])
    steps = statistics.median(s for s, _, _ in figures["3 steps"][1:] or figures["3 steps"])
    verdict = "met" if steps <= TARGET_RATIO * single else "missed"
    console.print(
        f"3 steps / single (repeat submissions): {steps / single:.2f}x (target <= {TARGET_RATIO}x: {verdict})"
    )


if __name__ == "__main__":
    main()
