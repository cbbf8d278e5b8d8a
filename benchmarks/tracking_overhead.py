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

Run:  .venv/bin/python benchmarks/tracking_overhead.py [--repeat N] [--with-kedro-mlflow]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tests.kedro_project import PARAMETERS, PIPELINES, clean_env  # noqa: E402

PARAMETER_COUNT = sum(1 for line in PARAMETERS.splitlines() if re.match(r"\s*[\w]+:\s*\S", line))

PLUGIN_DIST = "kedro-azureml-mlflow"  # the metadata Name that DISABLE_HOOKS_FOR_PLUGINS matches
KEDRO_MLFLOW_DIST = "kedro_mlflow"  # kedro-mlflow's metadata Name is spelled with an underscore
PACKAGE = "bench"
RUN_ARGS = ("run", "--pipelines", "many")
TRACKED = re.compile(r"MLflow: tracked run (\S+) in .*?\((\d+) tracking requests\)")
RUN_TIMEOUT = 900
# `kedro --help` lists each plugin's commands under this title: the with/without check.
PLUGIN_HELP = "Project specific commands from azureml-mlflow"
KEDRO_MLFLOW_HELP = "Project specific commands from Mlflow"
KEDRO_MLFLOW_STARTED = "Mlflow run"  # kedro-mlflow logs "Mlflow run '<name>' - '<id>' has started"

console = Console(width=max(120, shutil.get_terminal_size((160, 40)).columns))


# --- small helpers ---------------------------------------------------------------------------


def rel(path: Path) -> str:
    """A path as printed or saved: relative to the repo, never an absolute scratch path."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(**extra: str) -> dict[str, str]:
    """The test suite's clean subprocess env (telemetry off, no leaked MLFLOW_*/AZUREML_*, COLUMNS=400)."""
    env = clean_env(**extra)
    env.pop("VIRTUAL_ENV", None)
    return env


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_quiet(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the launcher used for `kedro --help` (and the "plugin hidden" run) ---------------------

LAUNCHER = '''\
"""Run Kedro's CLI, optionally as if some distributions were not installed (benchmark helper)."""
import importlib.metadata as md
import os
import re
import sys
import warnings

_hidden = {re.sub(r"[-_.]+", "-", n).lower() for n in os.environ.get("BENCH_HIDE_DISTS", "").split(",") if n}


def _dist_name(dist):
    path = getattr(dist, "_path", None)  # ".../<name>-<version>.dist-info": no metadata parsing
    name = path.name.split("-")[0] if path is not None else (dist.metadata["Name"] or "")
    return re.sub(r"[-_.]+", "-", name).lower()


if _hidden:
    _entry_points, _distributions = md.entry_points, md.distributions

    def entry_points(**params):  # what Kedro's CLI reads: kedro.project_commands, kedro.init, ...
        found = _entry_points()  # Python < 3.12: SelectableGroups (group -> EntryPoints)
        with warnings.catch_warnings():  # its dict interface is deprecated, and the only way to list them all
            warnings.simplefilter("ignore", DeprecationWarning)
            every = found if isinstance(found, md.EntryPoints) else [ep for eps in found.values() for ep in eps]
        kept = md.EntryPoints(ep for ep in every if ep.dist is None or _dist_name(ep.dist) not in _hidden)
        if params:
            return kept.select(**params)
        return md.SelectableGroups.load(kept) if hasattr(md, "SelectableGroups") else kept

    def distributions(**kwargs):  # what pluggy reads for kedro.hooks
        return (dist for dist in _distributions(**kwargs) if _dist_name(dist) not in _hidden)

    md.entry_points, md.distributions = entry_points, distributions

from kedro.framework.cli import main  # noqa: E402

sys.argv[0] = "kedro"
sys.exit(main())
'''


# --- a counting reverse proxy in front of `mlflow server` -------------------------------------

_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "host",
    "server",
    "date",
}


class CountingProxy:
    """Forwards every request to the upstream server and counts them (method + path)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK hold every response back ~40 ms (a 900-request run took 4× longer).
            disable_nagle_algorithm = True

            def _forward(self) -> None:
                body = self._body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                with proxy._lock:
                    proxy._counts[f"{self.command} {urlsplit(self.path).path}"] += 1
                try:
                    status, reason, out_headers, data = self._upstream(body, headers)
                except (OSError, http.client.HTTPException) as exc:
                    status, reason, out_headers = 502, "Bad Gateway", [("Content-Type", "text/plain")]
                    data = f"proxy: upstream unreachable: {exc}".encode()
                self.send_response(status, reason)
                for key, value in out_headers:
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _upstream(self, body: bytes | None, headers: dict[str, str]) -> tuple:
                """One keep-alive connection upstream per client connection (retried once if it went stale)."""
                for attempt in (1, 2):
                    conn = getattr(self, "_conn", None)
                    if conn is None:
                        conn = self._conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                        conn.connect()
                        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                        response = conn.getresponse()
                        data = response.read()
                        if response.will_close:
                            conn.close()
                            self._conn = None
                        return response.status, response.reason, response.getheaders(), data
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        self._conn = None
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            def finish(self) -> None:
                super().finish()
                if getattr(self, "_conn", None) is not None:
                    self._conn.close()

            def _body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True)

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def take(self) -> Counter[str]:
        """The requests counted since the last call (and start counting afresh)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class MlflowServer:
    """`mlflow server` on a SQLite backend, in its own process group."""

    def __init__(self, mlflow_bin: Path, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self.log = workdir / "server.log"
        cmd = [
            str(mlflow_bin),
            "server",
            "--backend-store-uri",
            f"sqlite:///{(workdir / 'server.db').as_posix()}",
            "--default-artifact-root",
            (workdir / "artifacts").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                cmd, cwd=workdir, env=bench_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({self.process.returncode}):\n{tail(self.log.read_text())}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"mlflow server not healthy after {timeout:.0f}s:\n{tail(self.log.read_text())}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass


# --- scenarios ---------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    group: str  # "plugin" or "kedro-mlflow": whose baselines its ratios use
    cwd: Path
    cmd: list[str]
    env: dict[str, str]
    tracked: bool | None = None  # True: the plugin must report a tracked run; False: it must not
    proxy: CountingProxy | None = None
    before: Callable[[], None] | None = None
    expect: str | None = None  # text the output must contain (sanity check)
    reject: str | None = None  # text it must not contain
    warmup: bool = True
    times: list[float] = field(default_factory=list)
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


def run_scenario(scenario: Scenario, timed: bool) -> None:
    if scenario.error:
        return
    if scenario.before:
        scenario.before()
    if scenario.proxy:
        scenario.proxy.take()
    start = time.perf_counter()
    try:
        result = subprocess.run(
            scenario.cmd, cwd=scenario.cwd, env=scenario.env, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        scenario.error = f"timed out after {RUN_TIMEOUT}s"
        return
    elapsed = time.perf_counter() - start
    output = result.stdout + result.stderr
    if scenario.log:
        write(scenario.log, f"$ {' '.join(scenario.cmd)}  # {elapsed:.2f}s, exit {result.returncode}\n{output}")
    counted = scenario.proxy.take() if scenario.proxy else None
    problem = check_output(scenario, result.returncode, output)
    if problem:
        scenario.error = problem
        console.print(f"[red]{scenario.label}: {problem}[/red]\n{tail(output)}")
        return
    if not timed:
        return
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
    if returncode != 0:
        return f"exit code {returncode}"
    found = TRACKED.search(output)
    if scenario.tracked is True and not found:
        return "the plugin did not report a tracked run"
    if scenario.tracked is False and found:
        return "the plugin tracked a run it should not have"
    if "Tracking server trouble" in output or "could not be sent" in output:
        return "the plugin journaled requests (tracking server trouble)"
    if scenario.expect and scenario.expect not in output:
        return f"expected {scenario.expect!r} in the output"
    if scenario.reject and scenario.reject in output:
        return f"did not expect {scenario.reject!r} in the output"
    return None


# --- projects ----------------------------------------------------------------------------------


def make_base_project(work: Path, kedro_bin: Path) -> Path:
    """`kedro new` once, then the test suite's pipelines and parameters."""
    root = work / "projects"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    result = run_quiet(
        [str(kedro_bin), "new", "--name", PACKAGE, "--tools", "none", "--example", "n"], cwd=root, env=bench_env()
    )
    if result.returncode != 0:
        sys.exit(f"kedro new failed:\n{tail(result.stdout + result.stderr)}")
    base = root / "_base"
    (root / PACKAGE).rename(base)
    write(base / "src" / PACKAGE / "pipeline_registry.py", PIPELINES)
    write(base / "conf" / "base" / "parameters.yml", PARAMETERS)
    return base


def project_copy(base: Path, name: str) -> Path:
    target = base.parent / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    return target


def disable_hooks(project: Path, dist_name: str) -> None:
    settings = project / "src" / PACKAGE / "settings.py"
    settings.write_text(settings.read_text() + f"\nDISABLE_HOOKS_FOR_PLUGINS = ({dist_name!r},)\n")


def azureml_yml(project: Path, tracking: dict[str, object]) -> None:
    write(project / "conf" / "base" / "azureml.yml", json.dumps({"tracking": tracking}) + "\n")


def remover(*paths: Path) -> Callable[[], None]:
    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    return remove


# --- kedro-mlflow ------------------------------------------------------------------------------

# kedro-datasets: kedro-mlflow 2.0.3's CLI (`kedro mlflow init`) imports kedro_datasets.pickle without
# declaring it; a project made by `kedro new` has it in its requirements anyway.
KEDRO_MLFLOW_REQUIREMENTS = ("kedro>=1,<2", "kedro-mlflow", "mlflow==3.15.*", "kedro-datasets")

KEDRO_MLFLOW_ADAPTER = """

# kedro-mlflow's MlflowMetricsHistoryDataset takes {"name": {"value": v, "step": s}}: same 500 values.
_plain_wide = wide


def wide(index):
    return {key: {"value": float(value), "step": 0} for key, value in _plain_wide(index).items()}
"""

KEDRO_MLFLOW_CATALOG = """
# kedro-mlflow logs metrics only through its datasets: every node_<i>_metrics output is one.
"{name}_metrics":
  type: kedro_mlflow.io.metrics.MlflowMetricsHistoryDataset
  prefix: "{name}_metrics"
"""


def prepare_kedro_mlflow_venv(work: Path, reinstall: bool) -> tuple[Path | None, str]:
    """The venv with kedro-mlflow; (venv, versions) or (None, why not)."""
    venv = work / "venv-kedro-mlflow"
    python = venv / "bin" / "python"
    probe = (
        "import importlib.metadata as m; "
        "print(' '.join(f'{d}={m.version(d)}' for d in ('kedro', 'kedro-mlflow', 'mlflow', 'kedro-datasets')))"
    )
    if reinstall:
        shutil.rmtree(venv, ignore_errors=True)
    if python.exists():
        found = run_quiet([str(python), "-c", probe], cwd=work, env=bench_env())
        if found.returncode == 0:
            return venv, found.stdout.strip()
    console.print(f"Creating {rel(venv)} (pip install {' '.join(KEDRO_MLFLOW_REQUIREMENTS)}) …")
    shutil.rmtree(venv, ignore_errors=True)
    made = run_quiet([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)], cwd=work, env=bench_env())
    if made.returncode != 0:
        return None, f"python3 -m venv failed: {tail(made.stderr, 5)}"
    pip = run_quiet(
        [str(venv / "bin" / "pip"), "install", "-q", *KEDRO_MLFLOW_REQUIREMENTS],
        cwd=work,
        env=bench_env(),
        timeout=1800,
    )
    if pip.returncode != 0:
        errors = [line for line in (pip.stdout + pip.stderr).splitlines() if "ignored: it is neither" not in line]
        return None, "pip could not install kedro-mlflow with kedro 1.x and mlflow 3.15: " + " | ".join(errors[-6:])
    found = run_quiet([str(python), "-c", probe], cwd=work, env=bench_env())
    if found.returncode != 0:
        return None, f"kedro-mlflow venv broken: {tail(found.stderr, 5)}"
    return venv, found.stdout.strip()


def make_kedro_mlflow_project(base: Path, venv: Path, name: str, tracking_uri: str) -> Path:
    project = project_copy(base, name)
    registry = project / "src" / PACKAGE / "pipeline_registry.py"
    registry.write_text(registry.read_text() + KEDRO_MLFLOW_ADAPTER)
    catalog = project / "conf" / "base" / "catalog.yml"
    catalog.write_text((catalog.read_text() if catalog.exists() else "") + KEDRO_MLFLOW_CATALOG)
    init = run_quiet([str(venv / "bin" / "kedro"), "mlflow", "init"], cwd=project, env=bench_env())
    config = project / "conf" / "local" / "mlflow.yml"
    if init.returncode != 0 or not config.exists():
        raise RuntimeError(f"kedro mlflow init failed:\n{tail(init.stdout + init.stderr)}")
    text = config.read_text()
    if "mlflow_tracking_uri: null" not in text:
        raise RuntimeError("conf/local/mlflow.yml has no 'mlflow_tracking_uri: null' line to set")
    config.write_text(text.replace("mlflow_tracking_uri: null", f"mlflow_tracking_uri: {tracking_uri}", 1))
    return project


# --- where the time goes -----------------------------------------------------------------------

PROBE = """\
import json, sys, time
timings, what = {}, sys.argv[1]
if what == "kedro":
    t0 = time.perf_counter()
    import kedro.framework.cli
    timings["import kedro.framework.cli"] = time.perf_counter() - t0
elif what == "plugin":
    import kedro.framework.cli, kedro.framework.hooks, kedro.framework.session  # Kedro's own cost, not timed
    t0 = time.perf_counter()
    import kedro_azureml_mlflow.hooks
    timings["import the plugin's hooks module (after Kedro)"] = time.perf_counter() - t0
else:
    t0 = time.perf_counter()
    from mlflow.tracking import MlflowClient
    t1 = time.perf_counter()
    import mlflow.store.tracking.sqlalchemy_store  # what MlflowClient("sqlite:///…") imports on first use
    t2 = time.perf_counter()
    MlflowClient(tracking_uri=sys.argv[2]).get_experiment_by_name("bench")
    t3 = time.perf_counter()
    timings["import mlflow (MlflowClient)"] = t1 - t0
    timings["import MLflow's SQLAlchemy store (SQLAlchemy + ORM)"] = t2 - t1
    timings[f"SQLite: {what} db, first query (after the imports)"] = t3 - t2
print(json.dumps(timings))
"""


def breakdown(work: Path, repeat: int) -> list[tuple[str, list[float]]]:
    """Seconds for the pieces of a tracked run's start-up, each probe in a fresh interpreter."""
    scratch = work / "probe"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    write(scratch / "probe.py", PROBE)
    env, python = bench_env(), sys.executable
    rows: dict[str, list[float]] = {}

    def probe(*args: str) -> None:
        result = run_quiet([python, str(scratch / "probe.py"), *args], cwd=scratch, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"probe {args[0]} failed:\n{tail(result.stderr)}")
        for name, seconds in json.loads(result.stdout.strip().splitlines()[-1]).items():
            rows.setdefault(name, []).append(seconds)

    run_quiet(
        [python, "-c", "import mlflow.store.tracking.sqlalchemy_store, kedro.framework.cli"], cwd=scratch, env=env
    )  # compiled .pyc in place, as for the timed runs
    for i in range(repeat):
        start = time.perf_counter()
        run_quiet([python, "-c", "pass"], cwd=scratch, env=env)
        rows.setdefault("python start-up (-c pass)", []).append(time.perf_counter() - start)
        probe("kedro")
        probe("plugin")
        db = f"sqlite:///{(scratch / f'new-{i}.db').as_posix()}"
        probe("create a new", db)
        probe("open the existing", db)
    order = [
        "python start-up (-c pass)",
        "import kedro.framework.cli",
        "import the plugin's hooks module (after Kedro)",
        "import mlflow (MlflowClient)",
        "import MLflow's SQLAlchemy store (SQLAlchemy + ORM)",
    ]
    return sorted(rows.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


# --- reporting ---------------------------------------------------------------------------------


def header_lines(versions_km: str | None) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = run_quiet(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, env=dict(os.environ)).stdout.strip() or "?"
    lines = [
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC   plugin commit: {commit}",
        f"machine: {os.cpu_count()} cores ({usable} usable), {cpu}, {platform.system()} {platform.release()}, "
        f"load average at start: {load}",
        f"python {platform.python_version()}, kedro {importlib.metadata.version('kedro')}, "
        f"mlflow {importlib.metadata.version('mlflow')}, {PLUGIN_DIST} {importlib.metadata.version(PLUGIN_DIST)}",
    ]
    if versions_km:
        lines.append(f"kedro-mlflow venv: {versions_km}")
    return lines


def fmt(seconds: float | None) -> str:
    return f"{seconds:.2f}" if seconds is not None else "—"


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value is not None and base else "—"


def results_table(scenarios: list[Scenario], baselines: dict[str, tuple[Scenario, Scenario]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("scenario")
    table.add_column("runs", justify="right")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    table.add_column("× hooks off\n(median)", justify="right")
    table.add_column("× hooks off\n(min)", justify="right")
    table.add_column("× not installed\n(median)", justify="right")
    table.add_column("tracking\nrequests/run", justify="right")
    for s in scenarios:
        hooks_off, hidden = baselines[s.group]
        if s.error:
            table.add_row(s.label, "0", "failed", s.error, "", "", "", "")
            continue
        if s.requests:
            how = "proxy" if s.proxy else "plugin"
            reqs = f"{statistics.median(s.requests):g} ({how})"
            if s.proxy and s.plugin_requests and s.plugin_requests != s.requests:
                reqs += f"; plugin says {statistics.median(s.plugin_requests):g}"
        else:
            reqs = "0" if s.tracked is False else "—"
        table.add_row(
            s.label,
            str(len(s.times)),
            fmt(s.median),
            fmt(s.best),
            ratio(s.median, hooks_off.median),
            ratio(s.best, hooks_off.best),
            ratio(s.median, hidden.median),
            reqs,
        )
    return table


def endpoints_table(scenarios: list[Scenario]) -> Table | None:
    counted = [s for s in scenarios if s.endpoints]
    if not counted:
        return None
    table = Table(title="Requests seen by the counting proxy (last timed run)", title_justify="left")
    table.add_column("endpoint")
    for s in counted:
        table.add_column(s.label, justify="right")
    keys = sorted({k for s in counted for k in s.endpoints}, key=lambda k: -max(s.endpoints[k] for s in counted))
    for key in keys:
        table.add_row(key, *(str(s.endpoints.get(key, 0)) for s in counted))
    table.add_row("total", *(str(sum(s.endpoints.values())) for s in counted), style="bold")
    return table


def help_table(pairs: list[tuple[str, Scenario, Scenario]]) -> Table:
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


def breakdown_table(rows: list[tuple[str, list[float]]]) -> Table:
    table = Table(title="Where the time goes (each in a fresh interpreter, main venv)", title_justify="left")
    table.add_column("step")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    for name, values in rows:
        table.add_row(name, fmt(statistics.median(values)), fmt(min(values)))
    return table


# --- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
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
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work", help="scratch dir (gitignored)")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the results here (default: <work>/results.json)"
    )
    return parser.parse_args()


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

    km_venv, km_versions = (None, None)
    if args.with_kedro_mlflow:
        km_venv, km_versions = prepare_kedro_mlflow_venv(work, args.reinstall_kedro_mlflow)
        if km_venv is None:
            console.print(f"[yellow]kedro-mlflow skipped: {km_versions}[/yellow]")
    header = header_lines(km_versions if km_venv else None)
    console.print("\n".join(header))
    console.print(f"Building the scratch project under {rel(work)} …")
    base = make_base_project(work, kedro_bin)
    write(work / "launcher.py", LAUNCHER)
    launcher = str(work / "launcher.py")
    python, env = sys.executable, bench_env()
    kedro_run = [str(kedro_bin), *RUN_ARGS]

    # (a) plain Kedro: three ways of leaving the plugin out
    p = project_copy(base, "plain-hooks-off")
    disable_hooks(p, PLUGIN_DIST)
    hooks_off = Scenario(
        "hooks_off",
        "plain Kedro: plugin hooks off (DISABLE_HOOKS_FOR_PLUGINS) [baseline]",
        "plugin",
        p,
        kedro_run,
        env,
        tracked=False,
    )
    p = project_copy(base, "plain-tracking-off")
    azureml_yml(p, {"enabled": False})
    off = Scenario(
        "tracking_off", "plain Kedro: plugin on, tracking.enabled false", "plugin", p, kedro_run, env, tracked=False
    )
    p = project_copy(base, "plain-not-installed")
    hidden = Scenario(
        "not_installed",
        "plain Kedro: plugin entry points hidden (≈ not installed)",
        "plugin",
        p,
        [python, launcher, *RUN_ARGS],
        bench_env(BENCH_HIDE_DISTS=PLUGIN_DIST),
        tracked=False,
    )
    scenarios = [hooks_off, off, hidden]
    baselines = {"plugin": (hooks_off, hidden)}

    # (b) the embedded SQLite store
    p = project_copy(base, "sqlite-first")
    scenarios.append(
        Scenario(
            "sqlite_first",
            "plugin → embedded SQLite, first run (creates mlflow.db)",
            "plugin",
            p,
            kedro_run,
            env,
            tracked=True,
            before=remover(p / "mlflow.db"),
            expect="embedded local store",
            warmup=False,
        )
    )
    p = project_copy(base, "sqlite")
    scenarios.append(
        Scenario(
            "sqlite",
            "plugin → embedded SQLite (existing db)",
            "plugin",
            p,
            kedro_run,
            env,
            tracked=True,
            expect="embedded local store",
        )
    )

    server = proxy = None
    try:
        # (c) a real mlflow server, behind the counting proxy (and, to see what the proxy costs, without it)
        if not args.no_http:
            server = MlflowServer(mlflow_bin, work / "server")
            try:
                server.wait_healthy()
                proxy = CountingProxy(server.port).start()
            except RuntimeError as exc:
                console.print(f"[yellow]HTTP scenarios skipped: {exc}[/yellow]")
                server.stop()
                server = None
        if proxy and server:
            p = project_copy(base, "http")
            azureml_yml(p, {"tracking_uri": f"http://127.0.0.1:{proxy.port}"})
            scenarios.append(
                Scenario(
                    "http",
                    "plugin → mlflow server over HTTP (counting proxy)",
                    "plugin",
                    p,
                    kedro_run,
                    env,
                    tracked=True,
                    proxy=proxy,
                )
            )
            if not args.no_direct:
                p = project_copy(base, "http-direct")
                azureml_yml(p, {"tracking_uri": f"http://127.0.0.1:{server.port}"})
                scenarios.append(
                    Scenario(
                        "http_direct",
                        "plugin → mlflow server over HTTP, no proxy",
                        "plugin",
                        p,
                        kedro_run,
                        env,
                        tracked=True,
                        warmup=False,
                    )
                )

        # kedro-mlflow, in its own venv
        help_project = work / "projects" / "sqlite"
        if km_venv is not None:
            km_run, km_python = [str(km_venv / "bin" / "kedro"), *RUN_ARGS], str(km_venv / "bin" / "python")
            p = project_copy(base, "km-hooks-off")
            disable_hooks(p, KEDRO_MLFLOW_DIST)
            km_off = Scenario(
                "km_hooks_off",
                "kedro-mlflow venv: plain Kedro, its hooks off [baseline]",
                "kedro-mlflow",
                p,
                km_run,
                env,
                reject=KEDRO_MLFLOW_STARTED,
            )
            p = project_copy(base, "km-not-installed")
            km_hidden = Scenario(
                "km_not_installed",
                "kedro-mlflow venv: plain Kedro, kedro-mlflow hidden",
                "kedro-mlflow",
                p,
                [km_python, launcher, *RUN_ARGS],
                bench_env(BENCH_HIDE_DISTS=KEDRO_MLFLOW_DIST),
                reject=KEDRO_MLFLOW_STARTED,
            )
            scenarios += [km_off, km_hidden]
            baselines["kedro-mlflow"] = (km_off, km_hidden)
            try:
                db = work / "projects" / "km-sqlite-first" / "mlflow.db"
                p = make_kedro_mlflow_project(base, km_venv, "km-sqlite-first", f"sqlite:///{db.as_posix()}")
                scenarios.append(
                    Scenario(
                        "km_sqlite_first",
                        "kedro-mlflow → SQLite, first run (creates the db)",
                        "kedro-mlflow",
                        p,
                        km_run,
                        env,
                        before=remover(db),
                        expect=KEDRO_MLFLOW_STARTED,
                        warmup=False,
                    )
                )
                db = work / "projects" / "km-sqlite" / "mlflow.db"
                p = make_kedro_mlflow_project(base, km_venv, "km-sqlite", f"sqlite:///{db.as_posix()}")
                scenarios.append(
                    Scenario(
                        "km_sqlite",
                        "kedro-mlflow → SQLite (existing db)",
                        "kedro-mlflow",
                        p,
                        km_run,
                        env,
                        expect=KEDRO_MLFLOW_STARTED,
                    )
                )
                help_project = p
                if proxy and server:
                    p = make_kedro_mlflow_project(base, km_venv, "km-http", f"http://127.0.0.1:{proxy.port}")
                    scenarios.append(
                        Scenario(
                            "km_http",
                            "kedro-mlflow → mlflow server over HTTP (counting proxy)",
                            "kedro-mlflow",
                            p,
                            km_run,
                            env,
                            proxy=proxy,
                            expect=KEDRO_MLFLOW_STARTED,
                        )
                    )
                    if not args.no_direct:
                        p = make_kedro_mlflow_project(
                            base, km_venv, "km-http-direct", f"http://127.0.0.1:{server.port}"
                        )
                        scenarios.append(
                            Scenario(
                                "km_http_direct",
                                "kedro-mlflow → mlflow server over HTTP, no proxy",
                                "kedro-mlflow",
                                p,
                                km_run,
                                env,
                                expect=KEDRO_MLFLOW_STARTED,
                                warmup=False,
                            )
                        )
            except RuntimeError as exc:
                console.print(f"[yellow]kedro-mlflow tracking scenarios skipped: {exc}[/yellow]")

        # kedro --help, through the same launcher with and without the plugin's entry points
        help_pairs = [
            (
                "kedro-azureml-mlflow",
                Scenario(
                    "help_with",
                    "help",
                    "",
                    work / "projects" / "sqlite",
                    [python, launcher, "--help"],
                    bench_env(BENCH_HIDE_DISTS=""),
                    expect=PLUGIN_HELP,
                ),
                Scenario(
                    "help_without",
                    "help",
                    "",
                    work / "projects" / "sqlite",
                    [python, launcher, "--help"],
                    bench_env(BENCH_HIDE_DISTS=PLUGIN_DIST),
                    reject=PLUGIN_HELP,
                ),
            )
        ]
        if km_venv is not None:
            help_pairs.append(
                (
                    "kedro-mlflow (its venv)",
                    Scenario(
                        "km_help_with",
                        "help",
                        "",
                        help_project,
                        [km_python, launcher, "--help"],
                        bench_env(BENCH_HIDE_DISTS=""),
                        expect=KEDRO_MLFLOW_HELP,
                    ),
                    Scenario(
                        "km_help_without",
                        "help",
                        "",
                        help_project,
                        [km_python, launcher, "--help"],
                        bench_env(BENCH_HIDE_DISTS=KEDRO_MLFLOW_DIST),
                        reject=KEDRO_MLFLOW_HELP,
                    ),
                )
            )
        help_scenarios = [s for _, a, b in help_pairs for s in (a, b)]
        for s in scenarios + help_scenarios:
            s.log = work / "logs" / f"{s.key}.log"

        console.print("Warm-up: one untimed run of each scenario that needs one …")
        for s in scenarios + help_scenarios:
            if s.warmup:
                run_scenario(s, timed=False)
        for r in range(repeat):
            so_far = time.perf_counter() - started
            console.print(f"Round {r + 1}/{repeat} of {len(scenarios)} runs ({so_far:.0f}s so far) …")
            for s in scenarios:
                run_scenario(s, timed=True)
        console.print(f"`kedro --help`: {help_repeat} rounds …")
        for _ in range(help_repeat):
            for s in help_scenarios:
                run_scenario(s, timed=True)
    finally:
        if proxy:
            proxy.stop()
        if server:
            server.stop()

    rows = [] if args.no_breakdown else breakdown(work, repeat)

    console.print()
    console.print("\n".join(header))
    console.print(
        f"`kedro {' '.join(RUN_ARGS)}`: 100 nodes, 500 metric values, "
        f"{PARAMETER_COUNT} parameters (flattened); "
        f"{repeat} timed runs per scenario (after one warm-up unless 'first run' / 'no proxy'), "
        "interleaved round-robin."
    )
    console.print(results_table([s for s in scenarios if s.group == "plugin"], baselines, "kedro-azureml-mlflow"))
    km_rows = [s for s in scenarios if s.group == "kedro-mlflow"]
    if km_rows:
        console.print(results_table(km_rows, baselines, "kedro-mlflow (ratios vs plain Kedro in its own venv)"))
    elif args.with_kedro_mlflow:
        console.print(f"kedro-mlflow: skipped ({km_versions})")
    endpoints = endpoints_table(scenarios)
    if endpoints:
        console.print(endpoints)
    console.print(help_table(help_pairs))
    if rows:
        console.print(breakdown_table(rows))
    verdicts = targets(scenarios, hooks_off, help_pairs[0])
    console.print("\n".join(verdicts))
    console.print(f"Total time: {time.perf_counter() - started:.0f}s")

    results = {
        "header": header,
        "command": f"kedro {' '.join(RUN_ARGS)}",
        "repeat": repeat,
        "scenarios": {
            s.key: {
                "label": s.label,
                "seconds": [round(t, 3) for t in s.times],
                "requests": s.requests,
                "plugin_requests": s.plugin_requests,
                "endpoints": dict(s.endpoints),
                "error": s.error,
            }
            for s in scenarios + help_scenarios
        },
        "breakdown": {name: [round(v, 3) for v in values] for name, values in rows},
        "targets": [re.sub(r"\[/?\w+\]", "", line) for line in verdicts],
    }
    out = args.json or work / "results.json"
    write(out, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Results written to {rel(out)}")
    return 1 if any(s.error for s in scenarios + help_scenarios) else 0


def targets(scenarios: list[Scenario], hooks_off: Scenario, help_pair: tuple[str, Scenario, Scenario]) -> list[str]:
    """The design targets (docs: DESIGN.md, "The tracking writer"), checked against this run."""
    by_key = {s.key: s for s in scenarios}
    lines = []

    def mark(ok: bool) -> str:
        return "[green]met[/green]" if ok else "[red]MISSED[/red]"

    sqlite = by_key.get("sqlite")
    if sqlite and sqlite.median and hooks_off.median:
        value = sqlite.median / hooks_off.median
        lines.append(
            f"target ≤ 1.5× wall time, embedded store (existing db) vs hooks off: {value:.2f}× {mark(value <= 1.5)}"
        )
    for key in ("sqlite", "http"):
        s = by_key.get(key)
        if s and s.requests:
            worst = max(s.requests)
            lines.append(f"target ≤ 10 tracking requests per run, {s.label}: {worst} {mark(worst <= 10)}")
    _, with_, without = help_pair
    if with_.median and without.median:
        value = with_.median / without.median
        lines.append(f"target `kedro --help` ≤ 1.05×: {value:.2f}× {mark(value <= 1.05)}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
