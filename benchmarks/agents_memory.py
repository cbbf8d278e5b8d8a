"""Ten projects of one environment, run one after another: how long is a new project's first run while
the others' agents are alive, and how much memory do all the warm agents hold afterwards?

Builds a scratch project (`kedro new` + the test suite's pipelines) under benchmarks/.work/agents-memory/,
copies it ten times, and runs `kedro run --pipelines many` once in each copy with the agent kept alive
(as shipped), every agent in a runtime folder of this benchmark's own (XDG_RUNTIME_DIR). Plain Kedro
(the plugin's hooks off) is timed in an eleventh copy for the ratio. Then it sums the resident memory
(VmRSS) of every agent alive, stops them all, and prints the table (also written as JSON).

Run:  .venv/bin/python benchmarks/agents_memory.py [--projects 10] [--baseline-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from benchmarks.harness.common import REPO, bench_env, run_quiet
from benchmarks.harness.projects import PLUGIN_DIST, RUN_ARGS, disable_hooks, make_base_project, project_copy
from kedro_azureml_mlflow.tracking.pipeline_side.launcher import KEEP_ALIVE_ENV
from tests.warm_agents import agent_pids


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed_run(project: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = run_quiet([str(Path(sys.executable).with_name("kedro")), *RUN_ARGS], project, env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"`kedro run` failed in {project}:\n{(result.stdout + result.stderr)[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "agents-memory")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    base = make_base_project(work, Path(sys.executable).with_name("kedro"))

    plain = project_copy(base, "plain")
    disable_hooks(plain, PLUGIN_DIST)
    timed_run(plain, bench_env())  # untimed warm-up (file caches)
    baseline = statistics.median(timed_run(plain, bench_env()) for _ in range(args.baseline_repeat))

    warm = {key: value for key, value in bench_env(XDG_RUNTIME_DIR=str(runtime)).items() if key != KEEP_ALIVE_ENV}
    firsts: list[float] = []
    try:
        for index in range(args.projects):
            firsts.append(timed_run(project_copy(base, f"project-{index}"), warm))
        time.sleep(2)  # let the last agent finish its run's housekeeping
        agents = sorted(agent_pids(runtime))
        memory = {pid: rss_mib(pid) for pid in agents}
    finally:
        for pid in agent_pids(runtime):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while agent_pids(runtime) and time.monotonic() < deadline:  # on a loaded machine exits take a moment
            time.sleep(0.5)

    later = firsts[1:] or firsts  # each a new project's first run while earlier projects' agents are alive
    results = {
        "load_average_1_5_15": os.getloadavg(),
        "plain_kedro_median_s": baseline,
        "first_run_of_a_new_project_median_s": statistics.median(later),
        "first_run_of_a_new_project_ratio": statistics.median(later) / baseline,
        "agents_alive": len(agents),
        "agents_rss_mib_total": sum(memory.values()),
        "one_agent_rss_mib_median": statistics.median(memory.values()) if memory else 0.0,
    }
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
