"""Where a warm `kedro run` spends its wall time: each phase, and every request the run makes on the wire.

Ratios on a shared machine move with the load; timestamps do not lie about where a run waits. The
project of ``tracking_overhead.py`` (100 nodes, 500 metric values, 105 parameters) gets hook wrappers
(``harness/standalone/timeline_hooks.py``) that print when each hook begins and ends, and the counting
proxy notes when each request arrives and is answered. Three variants, interleaved, the tracking agent
kept warm: the plugin's hooks off (plain Kedro), the embedded SQLite store, a real ``mlflow server``
behind the proxy. Per variant, the median of each phase:

  start        process start → ``after_context_created`` (importing Kedro, the session)
  context      ``after_context_created`` (the plugin reaches its agent here)
  load         → ``before_pipeline_run`` (Kedro loads the pipelines and the catalog)
  before       ``before_pipeline_run`` (the plugin asks for the run: what it waits for before the first node)
  nodes        first node start → last node end
  after        ``after_pipeline_run`` (the plugin ends the run: what it waits for after the last node)
  exit         → the process has exited (atexit, interpreter shutdown)

the CPU seconds each run cost the ``kedro run`` process, the agent and the mlflow server (on a loaded
machine the agent's and the server's share is what the pipeline waits for a core behind), and, over
HTTP, the requests made before the first node, during the nodes, and after the last node
(how many, and how long the server took for them), with the full timeline of the last run.

Run:  .venv/bin/python benchmarks/warm_timeline.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from benchmarks.harness.common import REPO, STANDALONE, bench_env, tail
from benchmarks.harness.mlflow_server import MlflowServer
from benchmarks.harness.projects import (
    PACKAGE,
    PLUGIN_DIST,
    RUN_ARGS,
    azureml_yml,
    disable_hooks,
    make_base_project,
    project_copy,
)
from benchmarks.harness.proxy import CountingProxy, Timed
from benchmarks.harness.scenarios import WARM

PHASES = (
    ("start", "spawn", "after_context_created.begin"),
    ("context", "after_context_created.begin", "after_context_created.end"),
    ("load", "after_context_created.end", "before_pipeline_run.begin"),
    ("before", "before_pipeline_run.begin", "before_pipeline_run.end"),
    ("to first node", "before_pipeline_run.end", "first_node.begin"),
    ("nodes", "first_node.begin", "last_node.end"),
    ("to after", "last_node.end", "after_pipeline_run.begin"),
    ("after", "after_pipeline_run.begin", "after_pipeline_run.end"),
    ("exit", "after_pipeline_run.end", "exit"),
    ("total", "spawn", "exit"),
)


@dataclass
class Run:
    """One timed run: its events (wall clock) and the requests it made."""

    events: dict[str, float]
    requests: list[Timed] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the run: kedro, agent, server

    def span(self, begin: str, end: str) -> float:
        return self.events[end] - self.events[begin]

    def requests_between(self, begin: str, end: str) -> list[Timed]:
        low, high = self.events[begin], self.events[end]
        return [request for request in self.requests if low <= request[0] < high]


def with_timeline(project: Path) -> Path:
    """The project with the timeline's hook wrappers registered in its settings."""
    shutil.copy(STANDALONE / "timeline_hooks.py", project / "src" / PACKAGE / "timeline_hooks.py")
    settings = project / "src" / PACKAGE / "settings.py"
    settings.write_text(
        settings.read_text() + f"\nfrom {PACKAGE}.timeline_hooks import Timeline\n\nHOOKS = (Timeline(),)\n"
    )
    return project


class Processes:
    """The processes whose CPU time a run costs besides its own: the warm agent, the mlflow server's group."""

    def __init__(self, server: MlflowServer) -> None:
        self.server_group = server.process.pid
        self.agent: int | None = None  # known from the first run's closing line

    def cpu(self) -> dict[str, float]:
        agent = [self.agent] if self.agent else []
        return {"agent": _cpu_seconds(agent), "server": _cpu_seconds(_group(self.server_group))}


def _group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(_stat_fields(int(entry.name))[2]) == pgid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name: state, ppid, pgrp, … (utime and stime are [11], [12])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def timed_run(kedro: Path, project: Path, proxy: CountingProxy, processes: Processes) -> Run:
    proxy.take_timed()
    before, children = processes.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.time()
    result = subprocess.run(
        [str(kedro), *RUN_ARGS], cwd=project, env=bench_env(**WARM), capture_output=True, text=True, check=False
    )
    exited = time.time()
    after, done = processes.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    agent = re.search(r"tracking agent (\d+)\)", result.stdout + result.stderr)
    if agent and processes.agent is None:
        processes.agent = int(agent.group(1))  # the same warm agent serves every later run
    cpu = {name: after[name] - before[name] for name in after}
    cpu["kedro"] = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
    if result.returncode != 0:
        sys.exit(f"kedro run failed in {project.name}:\n{tail(result.stdout + result.stderr)}")
    events = {"spawn": spawned, "exit": exited}
    for line in result.stderr.splitlines():
        if line.startswith("TIMELINE "):
            _, event, stamp = line.split()
            events[event] = float(stamp)  # the last one of a kind wins: last_node.end is the last node's
    missing = {event for _, begin, end in PHASES for event in (begin, end)} - set(events)
    if missing:
        sys.exit(f"no timeline for {sorted(missing)} in {project.name}:\n{tail(result.stderr)}")
    return Run(events, proxy.take_timed(), cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant (default 3)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "warm-timeline")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    kedro, mlflow = bindir / "kedro", bindir / "mlflow"
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    base = make_base_project(work, kedro)
    server = MlflowServer(mlflow, work / "server")
    try:
        server.wait_healthy()
        proxy = CountingProxy(server.port).start()
        plain = with_timeline(project_copy(base, "plain"))
        disable_hooks(plain, PLUGIN_DIST)
        http = with_timeline(project_copy(base, "http"))
        azureml_yml(http, {"tracking_uri": f"http://127.0.0.1:{proxy.port}"})
        variants = {"plain Kedro (hooks off)": plain, "embedded SQLite": with_timeline(project_copy(base, "sqlite"))}
        variants["HTTP (proxy)"] = http
        processes = Processes(server)
        for project in variants.values():
            timed_run(kedro, project, proxy, processes)  # warm-up: the agent starts, the store and experiment exist
        runs: dict[str, list[Run]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, project in variants.items():
                runs[name].append(timed_run(kedro, project, proxy, processes))
        proxy.stop()
    finally:
        server.stop()
    report(runs, args.repeat)


def paired(runs: list[Run], plain: list[Run], begin: str, end: str) -> float:
    """The median, over rounds, of how much longer the phase took than in the plain run of the same round."""
    return statistics.median(a.span(begin, end) - b.span(begin, end) for a, b in zip(runs, plain, strict=True))


def report(runs: dict[str, list[Run]], repeat: int) -> None:
    names = list(runs)
    print(f"\n`kedro {' '.join(RUN_ARGS)}`, warm agent, median of {repeat} runs per variant (s):\n")
    print("| phase | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for phase, begin, end in PHASES:
        cells = [f"{statistics.median(run.span(begin, end) for run in runs[name]):.3f}" for name in names]
        print(f"| {phase} | " + " | ".join(cells) + " |")
    plain = runs[names[0]]
    print(f"\nPaired with the {names[0]} run of the same round: median difference (s), phase by phase:\n")
    print("| phase | " + " | ".join(names[1:]) + " |")
    print("| --- |" + " ---: |" * (len(names) - 1))
    for phase, begin, end in PHASES:
        cells = [f"{paired(runs[name], plain, begin, end):+.3f}" for name in names[1:]]
        print(f"| {phase} | " + " | ".join(cells) + " |")
    print()
    for kind in ("kedro", "agent", "server"):
        cells = [f"{statistics.median(run.cpu[kind] for run in runs[name]):.2f}" for name in names]
        print(f"| CPU s: {kind} | " + " | ".join(cells) + " |")
    for name in names:
        each = ", ".join(f"{run.span('spawn', 'exit'):.2f}" for run in runs[name])
        print(f"\n{name}, each run's total (s): {each}", end="")
    print()
    http = runs[names[-1]]
    print(f"\n{names[-1]}: requests on the wire, median count and median summed server time (s):\n")
    print("| when | requests | server time |")
    print("| --- | ---: | ---: |")
    for label, begin, end in (
        ("before the first node", "spawn", "first_node.begin"),
        ("during the nodes", "first_node.begin", "last_node.end"),
        ("after the last node", "last_node.end", "exit"),
    ):
        counts = [len(run.requests_between(begin, end)) for run in http]
        spent = [sum(done - arrived for arrived, done, _ in run.requests_between(begin, end)) for run in http]
        print(f"| {label} | {statistics.median(counts):g} | {statistics.median(spent):.3f} |")
    last = http[-1]
    moments = [(stamp, event) for event, stamp in last.events.items()]
    moments += [
        (arrived, f"  → {request} ({1000 * (done - arrived):.1f} ms)") for arrived, done, request in last.requests
    ]
    print(f"\nThe last {names[-1]} run, from its start (s):\n")
    for stamp, what in sorted(moments):
        print(f"{stamp - last.events['spawn']:8.3f}  {what}")


if __name__ == "__main__":
    main()
