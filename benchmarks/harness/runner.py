"""A scenario (one command, timed in a fresh subprocess) and the checks every run must pass.

A run that exits non-zero, journals requests, or tracks when it should not (or the reverse) marks its
scenario failed: a benchmark never reports a time for a run that did not do what it claims.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness.common import console, tail, write
from benchmarks.harness.proxy import CountingProxy

TRACKED = re.compile(r"MLflow: tracked run (\S+) in .*?\((\d+) tracking requests[;)]")
WAITED = re.compile(r"MLflow: waited (\d+\.\d) s for tracking after the pipeline")
AGENT = re.compile(r"tracking requests; (?:warm )?tracking agent (\d+)\)")
JOURNALED = ("Tracking server trouble", "could not be sent")
RUN_TIMEOUT = 900


@dataclass
class Scenario:
    key: str
    label: str
    group: str  # whose baselines its ratios use ("plugin", "kedro-mlflow"); "" for none
    cwd: Path
    cmd: list[str]
    env: dict[str, str]
    tracked: bool | None = None  # True: the plugin must report a tracked run; False: it must not
    proxy: CountingProxy | None = None
    before: Callable[[], None] | None = None  # runs before every run, timed or not (outside the clock)
    expect: str | None = None  # text the output must contain (sanity check)
    reject: str | None = None  # text it must not contain
    warmup: bool = True
    journals: bool = False  # journaling is what this scenario is about (a server that never answers)
    times: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)  # peak RSS of the `kedro run` process itself
    agent_rss_mib: list[float] = field(default_factory=list)  # peak RSS of a warm agent (alive after the run)
    agent_pids: set[int] = field(default_factory=set)
    waited: list[float] = field(default_factory=list)  # what the plugin says it waited after the pipeline
    requests: list[int] = field(default_factory=list)  # proxy counts (HTTP) or the plugin's own
    plugin_requests: list[int] = field(default_factory=list)
    endpoints: Counter[str] = field(default_factory=Counter)  # of the last timed run
    error: str | None = None
    log: Path | None = None  # the last run's output goes here

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def best(self) -> float | None:
        return min(self.times) if self.times else None


HelpPair = tuple[str, Scenario, Scenario]  # (plugin, run with its entry points, run with them hidden)


def run_scenario(scenario: Scenario, timed: bool) -> None:
    """Run the scenario's command once; if ``timed``, record its wall time and request counts."""
    if scenario.error:
        return
    if scenario.before:
        scenario.before()
    if scenario.proxy:
        scenario.proxy.take()
    returncode, output, elapsed, rss_mib = measured_run(scenario)
    if scenario.log:
        write(scenario.log, f"$ {' '.join(scenario.cmd)}  # {elapsed:.2f}s, exit {returncode}\n{output}")
    counted = scenario.proxy.take() if scenario.proxy else None
    problem = check_output(scenario, returncode, output)
    if problem:
        scenario.error = problem
        console.print(f"[red]{scenario.label}: {problem}[/red]\n{tail(output)}")
        return
    agent = AGENT.search(output)
    if agent:
        scenario.agent_pids.add(int(agent.group(1)))
    if timed:
        record(scenario, elapsed, output, counted)
        scenario.rss_mib.append(rss_mib)
        waited = WAITED.search(output)
        scenario.waited.append(float(waited.group(1)) if waited else 0.0)
        if agent and (peak := agent_peak_rss_mib(int(agent.group(1)))):
            scenario.agent_rss_mib.append(peak)


def measured_run(scenario: Scenario) -> tuple[int, str, float, float]:
    """Exit code, output, wall time and peak RSS (MiB) of the command's own process (``wait4``).

    Only that process: a tracking agent is detached, and never waited for by it.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        scenario.cmd, cwd=scenario.cwd, env=scenario.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read() if process.stdout else b""))
    reader.start()
    killer = threading.Timer(RUN_TIMEOUT, process.kill)
    killer.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    return process.returncode, b"".join(chunks).decode(errors="replace"), elapsed, usage.ru_maxrss / 1024


def agent_peak_rss_mib(pid: int) -> float | None:
    """A live process's peak RSS (``VmHWM``, Linux), or None."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None


def record(scenario: Scenario, elapsed: float, output: str, counted: Counter[str] | None) -> None:
    scenario.times.append(elapsed)
    found = TRACKED.search(output)
    if found:
        scenario.plugin_requests.append(int(found.group(2)))
    if counted is not None:
        scenario.requests.append(sum(counted.values()))
        scenario.endpoints = counted
    elif found:
        scenario.requests.append(int(found.group(2)))


def check_output(scenario: Scenario, returncode: int, output: str) -> str | None:
    """What is wrong with this run (the first thing found, in this order), or None."""
    tracked = TRACKED.search(output) is not None
    expect, reject = scenario.expect, scenario.reject
    problems = (
        (returncode != 0, f"exit code {returncode}"),
        (scenario.tracked is True and not tracked, "the plugin did not report a tracked run"),
        (scenario.tracked is False and tracked, "the plugin tracked a run it should not have"),
        (
            not scenario.journals and any(sign in output for sign in JOURNALED),
            "the plugin journaled requests (tracking server trouble)",
        ),
        (scenario.journals and "kedro azureml sync" not in output, "expected the requests to be journaled"),
        (expect is not None and expect not in output, f"expected {expect!r} in the output"),
        (reject is not None and reject in output, f"did not expect {reject!r} in the output"),
    )
    return next((message for failed, message in problems if failed), None)


def warm_up(scenarios: list[Scenario]) -> None:
    """One untimed run of each scenario that wants one (imports compiled, caches filled, db created)."""
    console.print("Warm-up: one untimed run of each scenario that needs one …")
    for scenario in scenarios:
        if scenario.warmup:
            run_scenario(scenario, timed=False)


def timed_rounds(scenarios: list[Scenario], rounds: int, started: float) -> None:
    """``rounds`` timed runs of each scenario, interleaved round-robin so the machine's noise hits all alike."""
    for r in range(rounds):
        so_far = time.perf_counter() - started
        console.print(f"Round {r + 1}/{rounds} of {len(scenarios)} runs ({so_far:.0f}s so far) …")
        for scenario in scenarios:
            run_scenario(scenario, timed=True)


def stop_agents(scenarios: list[Scenario]) -> None:
    """End the warm tracking agents the runs left behind (each reported its pid), not to idle for minutes."""
    for pid in {pid for scenario in scenarios for pid in scenario.agent_pids}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
