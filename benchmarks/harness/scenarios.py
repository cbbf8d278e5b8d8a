"""The scenarios of ``tracking_overhead.py``, one builder function per family.

To add a scenario: write a function ``(Setup) -> list[Scenario]`` (copy a project with
:func:`project_copy`, configure it, return a :class:`Scenario` with the checks its runs must pass)
and append it to :data:`BUILDERS`. Its rows appear in the table of its ``group``, with ratios against
that group's baselines (:data:`BASELINES`), and in ``results.json`` under its ``key``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import kedro_mlflow
from benchmarks.harness.common import bench_env, console
from benchmarks.harness.launcher import hiding, launcher_command
from benchmarks.harness.mlflow_server import MlflowServer
from benchmarks.harness.projects import (
    PACKAGE,
    PLUGIN_DIST,
    RUN_ARGS,
    azureml_yml,
    disable_hooks,
    project_copy,
    remover,
)
from benchmarks.harness.proxy import CountingProxy
from benchmarks.harness.runner import HelpPair, Scenario

PLUGIN_HELP = "Project specific commands from azureml-mlflow"  # its section in `kedro --help`
EMBEDDED = "embedded local store"  # the plugin's log line names its target

# "Cold": no tracking agent alive when a run starts (the harness's default env turns reuse off);
# "warm": an agent stays between runs (each warm scenario's untimed warm-up starts it).
WARM = {"KEDRO_AZUREML_MLFLOW_AGENT_KEEP_ALIVE": "600"}
SILENT_MAX_WAIT = 5.0

# Each group's ratios are against ("hooks off", "not installed"), by scenario key.
BASELINES = {"plugin": ("hooks_off", "not_installed"), "kedro-mlflow": ("km_hooks_off", "km_not_installed")}


@dataclass
class Setup:
    """What every builder gets: the base project to copy and the shared servers (None when skipped)."""

    base: Path
    python: str  # the plugin venv's interpreter
    kedro_bin: Path
    server: MlflowServer | None
    proxy: CountingProxy | None
    direct: bool  # also the HTTP runs without the proxy (what the proxy costs)
    km_venv: Path | None  # kedro-mlflow's venv, if --with-kedro-mlflow made it

    @property
    def kedro_run(self) -> list[str]:
        return [str(self.kedro_bin), *RUN_ARGS]


Builder = Callable[[Setup], list[Scenario]]


def plain_kedro(setup: Setup) -> list[Scenario]:
    """Three ways of leaving the plugin out: hooks disabled, tracking disabled, entry points hidden."""
    hooks_off = project_copy(setup.base, "plain-hooks-off")
    disable_hooks(hooks_off, PLUGIN_DIST)
    tracking_off = project_copy(setup.base, "plain-tracking-off")
    azureml_yml(tracking_off, {"enabled": False})
    hidden = project_copy(setup.base, "plain-not-installed")
    return [
        Scenario(
            "hooks_off",
            "plain Kedro: plugin hooks off (DISABLE_HOOKS_FOR_PLUGINS) [baseline]",
            "plugin",
            hooks_off,
            setup.kedro_run,
            bench_env(),
            tracked=False,
        ),
        Scenario(
            "tracking_off",
            "plain Kedro: plugin on, tracking.enabled false",
            "plugin",
            tracking_off,
            setup.kedro_run,
            bench_env(),
            tracked=False,
        ),
        Scenario(
            "not_installed",
            "plain Kedro: plugin entry points hidden (≈ not installed)",
            "plugin",
            hidden,
            launcher_command(setup.python, *RUN_ARGS),
            hiding(PLUGIN_DIST),
            tracked=False,
        ),
    ]


def embedded_sqlite(setup: Setup) -> list[Scenario]:
    """The default target, ``sqlite:///<project>/mlflow.db``: created by every run, and existing."""
    first = project_copy(setup.base, "sqlite-first")
    existing = project_copy(setup.base, "sqlite")
    return [
        Scenario(
            "sqlite_first",
            "plugin → embedded SQLite, first run (creates mlflow.db)",
            "plugin",
            first,
            setup.kedro_run,
            bench_env(),
            tracked=True,
            before=remover(first / "mlflow.db"),
            expect=EMBEDDED,
            warmup=False,
        ),
        Scenario(
            "sqlite",
            "plugin → embedded SQLite (existing db), cold: a new agent per run",
            "plugin",
            existing,
            setup.kedro_run,
            bench_env(),
            tracked=True,
            expect=EMBEDDED,
        ),
        Scenario(
            "sqlite_warm",
            "plugin → embedded SQLite (existing db), warm: the agent is alive",
            "plugin",
            project_copy(setup.base, "sqlite-warm"),
            setup.kedro_run,
            bench_env(**WARM),
            tracked=True,
            expect=EMBEDDED,
        ),
    ]


def mlflow_server(setup: Setup) -> list[Scenario]:
    """A real ``mlflow server``, behind the counting proxy (and, to see what the proxy costs, without it)."""
    if setup.server is None or setup.proxy is None:
        return []
    found = [
        Scenario(
            f"http{suffix}",
            f"plugin → mlflow server over HTTP (counting proxy), {how}",
            "plugin",
            _tracking_to(setup, f"http{suffix}", f"http://127.0.0.1:{setup.proxy.port}"),
            setup.kedro_run,
            bench_env(**env),
            tracked=True,
            proxy=setup.proxy,
        )
        for suffix, how, env in (("", "cold", {}), ("_warm", "warm", WARM))
    ]
    found.append(
        Scenario(
            "parallel4",
            "plugin → HTTP (counting proxy), ParallelRunner with 4 workers, warm",
            "plugin",
            _tracking_to(setup, "parallel4", f"http://127.0.0.1:{setup.proxy.port}"),
            [*setup.kedro_run, "--runner", f"{PACKAGE}.pipeline_registry.FourWorkers"],
            bench_env(**WARM),
            tracked=True,
            proxy=setup.proxy,
        )
    )
    if setup.direct:
        project = project_copy(setup.base, "http-direct")
        azureml_yml(project, {"tracking_uri": setup.server.url})
        found.append(
            Scenario(
                "http_direct",
                "plugin → mlflow server over HTTP, no proxy",
                "plugin",
                project,
                setup.kedro_run,
                bench_env(),
                tracked=True,
                warmup=False,  # the experiment already exists
            )
        )
    return found


def silent_server(setup: Setup) -> list[Scenario]:
    """A tracking server that accepts connections and never answers; MLflow's retry settings untouched."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: _hold(listener, held), name="silent-server", daemon=True).start()
    project = project_copy(setup.base, "silent")
    port = listener.getsockname()[1]
    azureml_yml(project, {"tracking_uri": f"http://127.0.0.1:{port}", "max_wait_seconds": SILENT_MAX_WAIT})
    label = f"plugin → a server that never answers, max_wait_seconds {SILENT_MAX_WAIT:g} (journals), warm"
    return [
        Scenario("silent", label, "plugin", project, setup.kedro_run, bench_env(**WARM), journals=True, warmup=False)
    ]


def _hold(listener: socket.socket, held: list[socket.socket]) -> None:
    while True:
        held.append(listener.accept()[0])


def _tracking_to(setup: Setup, name: str, uri: str) -> Path:
    project = project_copy(setup.base, name.replace("_", "-"))
    azureml_yml(project, {"tracking_uri": uri})
    return project


def kedro_mlflow_baselines(setup: Setup) -> list[Scenario]:
    """Plain Kedro in kedro-mlflow's venv: its hooks off, and its entry points hidden."""
    if setup.km_venv is None:
        return []
    hooks_off = project_copy(setup.base, "km-hooks-off")
    disable_hooks(hooks_off, kedro_mlflow.DIST)
    hidden = project_copy(setup.base, "km-not-installed")
    return [
        Scenario(
            "km_hooks_off",
            "kedro-mlflow venv: plain Kedro, its hooks off [baseline]",
            "kedro-mlflow",
            hooks_off,
            [str(setup.km_venv / "bin" / "kedro"), *RUN_ARGS],
            bench_env(),
            reject=kedro_mlflow.STARTED,
        ),
        Scenario(
            "km_not_installed",
            "kedro-mlflow venv: plain Kedro, kedro-mlflow hidden",
            "kedro-mlflow",
            hidden,
            launcher_command(str(setup.km_venv / "bin" / "python"), *RUN_ARGS),
            hiding(kedro_mlflow.DIST),
            reject=kedro_mlflow.STARTED,
        ),
    ]


def kedro_mlflow_tracking(setup: Setup) -> list[Scenario]:
    """kedro-mlflow to SQLite (new and existing db) and to the same mlflow server (with and without proxy)."""
    venv = setup.km_venv
    if venv is None:
        return []
    targets: list[tuple[str, str, str, bool]] = []  # (key, label, tracking URI, warm-up)
    work = setup.base.parent
    targets.append(("km_sqlite_first", "kedro-mlflow → SQLite, first run (creates the db)", "", False))
    targets.append(("km_sqlite", "kedro-mlflow → SQLite (existing db)", "", True))
    if setup.server is not None and setup.proxy is not None:
        targets.append(
            (
                "km_http",
                "kedro-mlflow → mlflow server over HTTP (counting proxy)",
                f"http://127.0.0.1:{setup.proxy.port}",
                True,
            )
        )
        if setup.direct:
            targets.append(
                ("km_http_direct", "kedro-mlflow → mlflow server over HTTP, no proxy", setup.server.url, False)
            )
    found = []
    try:
        for key, label, uri, warmup in targets:
            name = key.replace("_", "-")
            db = work / name / "mlflow.db"
            project = kedro_mlflow.make_project(setup.base, venv, name, uri or f"sqlite:///{db.as_posix()}")
            found.append(
                Scenario(
                    key,
                    label,
                    "kedro-mlflow",
                    project,
                    [str(venv / "bin" / "kedro"), *RUN_ARGS],
                    bench_env(),
                    proxy=setup.proxy if key == "km_http" else None,
                    before=remover(db) if key == "km_sqlite_first" else None,
                    expect=kedro_mlflow.STARTED,
                    warmup=warmup,
                )
            )
    except RuntimeError as exc:
        console.print(f"[yellow]kedro-mlflow tracking scenarios skipped: {exc}[/yellow]")
    return found


BUILDERS: list[Builder] = [
    plain_kedro,
    embedded_sqlite,
    mlflow_server,
    silent_server,
    kedro_mlflow_baselines,
    kedro_mlflow_tracking,
]


def help_pairs(setup: Setup) -> list[HelpPair]:
    """`kedro --help` through the same launcher, with and without each plugin's entry points."""
    cwd = setup.base.parent / "sqlite"  # made by embedded_sqlite
    pairs = [_help_pair("kedro-azureml-mlflow", "help", cwd, setup.python, PLUGIN_DIST, PLUGIN_HELP)]
    if setup.km_venv is not None:
        km_python = str(setup.km_venv / "bin" / "python")
        km_project = setup.base.parent / "km-sqlite"  # made by kedro_mlflow_tracking, unless it failed
        km_cwd = km_project if km_project.is_dir() else cwd
        pairs.append(
            _help_pair("kedro-mlflow (its venv)", "km_help", km_cwd, km_python, kedro_mlflow.DIST, kedro_mlflow.HELP)
        )
    return pairs


def _help_pair(name: str, key: str, cwd: Path, python: str, dist: str, section: str) -> HelpPair:
    command = launcher_command(python, "--help")
    with_ = Scenario(f"{key}_with", "help", "", cwd, command, hiding(), expect=section)
    without = Scenario(f"{key}_without", "help", "", cwd, command, hiding(dist), reject=section)
    return name, with_, without
