"""What a benchmark prints and saves: the machine, the tables, the design targets, ``results.json``.

Saved results hold timings and counts only, never an absolute path.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from benchmarks.harness.breakdown import Rows
from benchmarks.harness.common import REPO, run_quiet
from benchmarks.harness.projects import PLUGIN_DIST
from benchmarks.harness.runner import HelpPair, Scenario


def header_lines(versions_km: str | None) -> list[str]:
    """Date, commit, machine, load and versions: what a reader needs to weigh the numbers."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = run_quiet(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, env=dict(os.environ)).stdout.strip() or "?"
    lines = [
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC   plugin commit: {commit}",
        f"machine: {os.cpu_count()} cores ({usable} usable), {_cpu()}, {platform.system()} {platform.release()}, "
        f"load average at start: {load}",
        f"python {platform.python_version()}, kedro {importlib.metadata.version('kedro')}, "
        f"mlflow {importlib.metadata.version('mlflow')}, {PLUGIN_DIST} {importlib.metadata.version(PLUGIN_DIST)}",
    ]
    if versions_km:
        lines.append(f"kedro-mlflow venv: {versions_km}")
    return lines


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def fmt(seconds: float | None) -> str:
    return f"{seconds:.2f}" if seconds is not None else "—"


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value is not None and base else "—"


def results_table(scenarios: list[Scenario], baselines: dict[str, tuple[Scenario, Scenario]], title: str) -> Table:
    """One row per scenario: times, ratios against its group's two baselines, requests per run."""
    table = Table(title=title, title_justify="left")
    table.add_column("scenario")
    for name in (
        "runs",
        "median s",
        "min s",
        "× hooks off\n(median)",
        "× hooks off\n(min)",
        "× not installed\n(median)",
        "tracking\nrequests/run",
        "peak RSS MiB\n(× hooks off)",
        "agent peak\nRSS MiB",
    ):
        table.add_column(name, justify="right")
    for s in scenarios:
        hooks_off, hidden = baselines[s.group]
        if s.error:
            table.add_row(escape(s.label), "0", "failed", escape(s.error), "", "", "", "", "", "")
            continue
        table.add_row(
            escape(s.label),  # "[baseline]" is text, not rich markup
            str(len(s.times)),
            fmt(s.median),
            fmt(s.best),
            ratio(s.median, hooks_off.median),
            ratio(s.best, hooks_off.best),
            ratio(s.median, hidden.median),
            _requests(s),
            _rss(s, hooks_off),
            f"{max(s.agent_rss_mib):.0f}" if s.agent_rss_mib else "—",
        )
    return table


def _rss(s: Scenario, base: Scenario) -> str:
    if not s.rss_mib:
        return "—"
    value = statistics.median(s.rss_mib)
    return f"{value:.0f} ({ratio(value, statistics.median(base.rss_mib) if base.rss_mib else None)})"


def _requests(s: Scenario) -> str:
    if not s.requests:
        return "0" if s.tracked is False else "—"
    how = "proxy" if s.proxy else "plugin"
    text = f"{statistics.median(s.requests):g} ({how})"
    if s.proxy and s.plugin_requests and s.plugin_requests != s.requests:
        text += f"; plugin says {statistics.median(s.plugin_requests):g}"
    return text


def endpoints_table(scenarios: list[Scenario]) -> Table | None:
    """Requests by endpoint, as the counting proxy saw them, for each scenario behind it."""
    counted = [s for s in scenarios if s.endpoints]
    if not counted:
        return None
    table = Table(title="Requests seen by the counting proxy (last timed run)", title_justify="left")
    table.add_column("endpoint")
    for s in counted:
        table.add_column(escape(s.label), justify="right")
    keys = sorted({k for s in counted for k in s.endpoints}, key=lambda k: -max(s.endpoints[k] for s in counted))
    for key in keys:
        table.add_row(key, *(str(s.endpoints.get(key, 0)) for s in counted))
    table.add_row("total", *(str(sum(s.endpoints.values())) for s in counted), style="bold")
    return table


def help_table(pairs: list[HelpPair]) -> Table:
    table = Table(
        title="`kedro --help` in the project (same launcher; one run hides the plugin's entry points)",
        title_justify="left",
    )
    for name in (
        "plugin",
        "runs",
        "median s with",
        "median s without",
        "× (median)",
        "min s with",
        "min s without",
        "× (min)",
    ):
        table.add_column(name, justify="left" if name == "plugin" else "right")
    for name, with_, without in pairs:
        if with_.error or without.error:
            table.add_row(name, "0", "failed", with_.error or without.error or "", "", "", "", "")
            continue
        table.add_row(
            name,
            str(len(with_.times)),
            fmt(with_.median),
            fmt(without.median),
            ratio(with_.median, without.median),
            fmt(with_.best),
            fmt(without.best),
            ratio(with_.best, without.best),
        )
    return table


def breakdown_table(rows: Rows) -> Table:
    table = Table(title="Where the time goes (each in a fresh interpreter, main venv)", title_justify="left")
    table.add_column("step")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    for name, values in rows:
        table.add_row(name, fmt(statistics.median(values)), fmt(min(values)))
    return table


def targets(scenarios: list[Scenario], hooks_off: Scenario, help_pair: HelpPair) -> list[str]:
    """The tracking agent's targets (issue 7), checked against this run."""
    by_key = {s.key: s for s in scenarios}
    lines = []

    def mark(ok: bool) -> str:
        return "[green]met[/green]" if ok else "[red]MISSED[/red]"

    for key, limit in (("sqlite", 2.0), ("sqlite_warm", 1.1), ("http", 1.5), ("http_warm", 1.1)):
        s = by_key.get(key)
        if s and s.median and hooks_off.median:
            value = s.median / hooks_off.median
            lines.append(f"target ≤ {limit}× wall time, {s.label}: {value:.2f}× {mark(value <= limit)}")
    for key in ("sqlite", "sqlite_warm"):
        s = by_key.get(key)
        if s and s.rss_mib and hooks_off.rss_mib:
            value = statistics.median(s.rss_mib) / statistics.median(hooks_off.rss_mib)
            agent = f" (agent: {max(s.agent_rss_mib):.0f} MiB)" if s.agent_rss_mib else ""
            lines.append(
                f"target ≤ 1.15× peak RSS of `kedro run`, {s.label}: {value:.2f}×{agent} {mark(value <= 1.15)}"
            )
    for key in ("sqlite", "http", "parallel4"):
        s = by_key.get(key)
        if s and s.requests:
            worst = max(s.requests)
            lines.append(f"target ≤ 10 tracking requests per run, {s.label}: {worst} {mark(worst <= 10)}")
    silent = by_key.get("silent")
    if silent and silent.waited:
        from benchmarks.harness.scenarios import SILENT_MAX_WAIT

        delay = max(silent.waited)  # from the pipeline's end to the closing line, as the plugin logs it
        lines.append(
            f"target never-answering server: the end waits ≤ max_wait ({SILENT_MAX_WAIT:g} s): "
            f"{delay:.1f} s (worst run) {mark(delay <= SILENT_MAX_WAIT)}"
        )
    _, with_, without = help_pair
    if with_.median and without.median:
        value = with_.median / without.median
        lines.append(f"target `kedro --help` ≤ 1.05×: {value:.2f}× {mark(value <= 1.05)}")
    return lines


def results_json(
    header: list[str], command: str, repeat: int, scenarios: list[Scenario], rows: Rows, verdicts: list[str]
) -> dict[str, Any]:
    """Everything measured, as saved in ``results.json``."""
    return {
        "header": header,
        "command": command,
        "repeat": repeat,
        "scenarios": {
            s.key: {
                "label": s.label,
                "seconds": [round(t, 3) for t in s.times],
                "requests": s.requests,
                "plugin_requests": s.plugin_requests,
                "endpoints": dict(s.endpoints),
                "peak_rss_mib": [round(v, 1) for v in s.rss_mib],
                "agent_peak_rss_mib": [round(v, 1) for v in s.agent_rss_mib],
                "waited_after_pipeline_s": s.waited,
                "error": s.error,
            }
            for s in scenarios
        },
        "breakdown": {name: [round(v, 3) for v in values] for name, values in rows},
        "targets": [re.sub(r"\[/?\w+\]", "", line) for line in verdicts],
    }
