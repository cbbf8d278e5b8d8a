"""How much does tracking cost a `kedro run`? Wall time and tracking requests, side by side.

Builds a scratch Kedro project (`kedro new`) under benchmarks/.work/ with the test suite's
`many` pipeline: 100 nodes, each returning a dict of 5 numbers to `node_<i>_metrics` (500 metric
values), and times `kedro run --pipelines many` in fresh subprocesses:

  plain Kedro          the plugin installed but `tracking: {enabled: false}`; its hooks disabled
                       with DISABLE_HOOKS_FOR_PLUGINS; its entry points hidden (as if uninstalled)
  embedded store       the plugin -> sqlite:///<project>/mlflow.db (existing db; first run separately)
  HTTP                 the plugin -> a real `mlflow server`, through a counting reverse proxy
                       (requests per run), and once more without the proxy (what the proxy costs)
  kedro --help         with the plugin's entry points vs hidden (same launcher for both)

With --with-kedro-mlflow the same runs are made with kedro-mlflow in its own venv
(benchmarks/.work/venv-kedro-mlflow) for comparison. Runs are interleaved round-robin so that
the machine's noise is spread over all scenarios alike; each scenario gets one untimed warm-up
(except "first run", which deletes its db every time). A table of start-up pieces (imports,
store initialisation), each timed in a fresh interpreter, shows where the tracked run's time goes.

The pieces live in benchmarks/harness/; the scenarios in benchmarks/harness/scenarios.py.

Run:  .venv/bin/python benchmarks/tracking_overhead.py [--repeat N] [--with-kedro-mlflow]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from benchmarks.harness import kedro_mlflow, report
from benchmarks.harness.breakdown import Rows, breakdown
from benchmarks.harness.common import REPO, console, rel, write
from benchmarks.harness.mlflow_server import MlflowServer
from benchmarks.harness.projects import RUN_ARGS, make_base_project
from benchmarks.harness.proxy import CountingProxy
from benchmarks.harness.runner import HelpPair, Scenario, stop_agents, timed_rounds, warm_up
from benchmarks.harness.scenarios import BASELINES, BUILDERS, Setup, help_pairs
from tests.kedro_project import PARAMETERS

PARAMETER_COUNT = sum(1 for line in PARAMETERS.splitlines() if re.match(r"\s*[\w]+:\s*\S", line))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog=textwrap.dedent("""\
            kedro-mlflow: --with-kedro-mlflow makes benchmarks/.work/venv-kedro-mlflow (python3 -m venv; pip install
            'kedro>=1,<2' kedro-mlflow 'mlflow==3.15.*' kedro-datasets: kedro-mlflow 2.0.3 resolves with kedro 1.7,
            and its CLI needs kedro-datasets, which it does not declare), a project copy
            with `kedro mlflow init`, its conf/local/mlflow.yml pointed at a SQLite db or the counting proxy, and a
            "{name}_metrics" dataset factory of kedro_mlflow.io.metrics.MlflowMetricsHistoryDataset (the only way it
            logs metrics; nodes then return {"m0": {"value": v, "step": 0}, ...}: the same 500 values). If the venv
            cannot be made the kedro-mlflow rows are skipped with the reason printed."""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scenario (default 3)")
    parser.add_argument(
        "--help-repeat",
        type=int,
        default=None,
        help="timed `kedro --help` runs per variant (default 3 × --repeat: they are short and noisy)",
    )
    parser.add_argument("--with-kedro-mlflow", action="store_true", help="also time kedro-mlflow (see below)")
    parser.add_argument("--reinstall-kedro-mlflow", action="store_true", help="recreate the kedro-mlflow venv")
    parser.add_argument("--no-http", action="store_true", help="skip the mlflow server scenarios")
    parser.add_argument(
        "--no-direct",
        action="store_true",
        help="skip the HTTP runs without the counting proxy (they show what the proxy costs)",
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip the 'where the time goes' probes")
    parser.add_argument(
        "--only",
        type=lambda text: [key.strip() for key in text.split(",") if key.strip()],
        default=None,
        metavar="KEY,…",
        help="time only these scenarios (keys as in results.json: sqlite_warm,http_warm,…) and their baselines "
        "(hooks_off, not_installed); `kedro --help` is then not timed",
    )
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work", help="scratch dir (gitignored)")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the results here (default: <work>/results.json)"
    )
    return parser.parse_args()


def start_server(
    args: argparse.Namespace, mlflow_bin: Path, work: Path
) -> tuple[MlflowServer | None, CountingProxy | None]:
    """A real mlflow server and the counting proxy in front of it, or (None, None) with the reason printed."""
    if args.no_http:
        return None, None
    server = MlflowServer(mlflow_bin, work / "server")
    try:
        server.wait_healthy()
    except RuntimeError as exc:
        console.print(f"[yellow]HTTP scenarios skipped: {exc}[/yellow]")
        server.stop()
        return None, None
    return server, CountingProxy(server.port).start()


def main() -> int:
    args = parse_args()
    repeat, help_repeat = max(1, args.repeat), args.help_repeat or 3 * max(1, args.repeat)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    kedro_bin, mlflow_bin = bindir / "kedro", bindir / "mlflow"
    if not kedro_bin.exists():
        sys.exit(f"{kedro_bin} not found: run with the project's venv python (.venv/bin/python)")
    started = time.perf_counter()

    km_venv, km_versions = None, None
    if args.with_kedro_mlflow:
        km_venv, km_versions = kedro_mlflow.prepare_venv(work, args.reinstall_kedro_mlflow)
        if km_venv is None:
            console.print(f"[yellow]kedro-mlflow skipped: {km_versions}[/yellow]")
    header = report.header_lines(km_versions if km_venv else None)
    console.print("\n".join(header))
    console.print(f"Building the scratch project under {rel(work)} …")
    base = make_base_project(work, kedro_bin)

    server, proxy = start_server(args, mlflow_bin, work)
    scenarios: list[Scenario] = []
    try:
        setup = Setup(base, sys.executable, kedro_bin, server, proxy, not args.no_direct, km_venv)
        scenarios = chosen([scenario for build in BUILDERS for scenario in build(setup)], args.only)
        pairs = help_pairs(setup)
        help_scenarios = [] if args.only else [s for _, with_, without in pairs for s in (with_, without)]
        for s in scenarios + help_scenarios:
            s.log = work / "logs" / f"{s.key}.log"
        warm_up(scenarios + help_scenarios)
        timed_rounds(scenarios, repeat, started)
        if help_scenarios:
            console.print(f"`kedro --help`: {help_repeat} rounds …")
            timed_rounds(help_scenarios, help_repeat, started)
    finally:
        stop_agents(scenarios)
        if proxy:
            proxy.stop()
        if server:
            server.stop()

    rows = [] if args.no_breakdown else breakdown(work, repeat)
    km_skipped = km_versions if args.with_kedro_mlflow and km_venv is None else None
    verdicts = print_report(header, repeat, scenarios, pairs, rows, km_skipped)
    console.print(f"Total time: {time.perf_counter() - started:.0f}s")
    results = report.results_json(
        header, f"kedro {' '.join(RUN_ARGS)}", repeat, scenarios + help_scenarios, rows, verdicts
    )
    out = args.json or work / "results.json"
    write(out, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Results written to {rel(out)}")
    return 1 if any(s.error for s in scenarios + help_scenarios) else 0


def chosen(scenarios: list[Scenario], only: list[str] | None) -> list[Scenario]:
    """The scenarios ``--only`` names, with the baselines their ratios need (all of them without it)."""
    if only is None:
        return scenarios
    unknown = set(only) - {s.key for s in scenarios}
    if unknown:
        sys.exit(f"--only: no scenario {', '.join(sorted(unknown))} (known: {', '.join(s.key for s in scenarios)})")
    wanted = set(only) | {key for pair in BASELINES.values() for key in pair}
    return [s for s in scenarios if s.key in wanted]


def print_report(
    header: list[str],
    repeat: int,
    scenarios: list[Scenario],
    pairs: list[HelpPair],
    rows: Rows,
    kedro_mlflow_skipped: str | None,
) -> list[str]:
    """The tables, then the design targets (returned: they are saved too)."""
    by_key = {s.key: s for s in scenarios}
    baselines = {group: (by_key[a], by_key[b]) for group, (a, b) in BASELINES.items() if a in by_key and b in by_key}
    console.print()
    console.print("\n".join(header))
    console.print(
        f"`kedro {' '.join(RUN_ARGS)}`: 100 nodes, 500 metric values, {PARAMETER_COUNT} parameters (flattened); "
        f"{repeat} timed runs per scenario (after one warm-up unless 'first run' / 'no proxy'), "
        "interleaved round-robin."
    )
    console.print(
        report.results_table([s for s in scenarios if s.group == "plugin"], baselines, "kedro-azureml-mlflow")
    )
    km_rows = [s for s in scenarios if s.group == "kedro-mlflow"]
    if km_rows:
        console.print(report.results_table(km_rows, baselines, "kedro-mlflow (ratios vs plain Kedro in its own venv)"))
    elif kedro_mlflow_skipped:
        console.print(f"kedro-mlflow: skipped ({kedro_mlflow_skipped})")
    endpoints = report.endpoints_table(scenarios)
    if endpoints:
        console.print(endpoints)
    if any(with_.times for _, with_, _ in pairs):  # not timed with --only
        console.print(report.help_table(pairs))
    if rows:
        console.print(report.breakdown_table(rows))
    verdicts = report.targets(scenarios, by_key["hooks_off"], pairs[0])
    console.print("\n".join(verdicts))
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
