"""kedro-mlflow, for comparison: its own venv, and project copies set up the way its docs say.

The venv (``<work>/venv-kedro-mlflow``) is made once and reused. kedro-datasets is installed too:
kedro-mlflow 2.0.3's CLI (``kedro mlflow init``) imports ``kedro_datasets.pickle`` without declaring
it; a project made by ``kedro new`` has it in its requirements anyway.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from benchmarks.harness.common import STANDALONE, bench_env, console, rel, run_quiet, tail
from benchmarks.harness.projects import PACKAGE, project_copy

DIST = "kedro_mlflow"  # kedro-mlflow's metadata Name is spelled with an underscore
REQUIREMENTS = ("kedro>=1,<2", "kedro-mlflow", "mlflow==3.15.*", "kedro-datasets")
HELP = "Project specific commands from Mlflow"  # its section in `kedro --help`
STARTED = "Mlflow run"  # kedro-mlflow logs "Mlflow run '<name>' - '<id>' has started"
_VERSIONS = (
    "import importlib.metadata as m; "
    "print(' '.join(f'{d}={m.version(d)}' for d in ('kedro', 'kedro-mlflow', 'mlflow', 'kedro-datasets')))"
)


def prepare_venv(work: Path, reinstall: bool) -> tuple[Path | None, str]:
    """The venv with kedro-mlflow; (venv, versions) or (None, why not)."""
    venv = work / "venv-kedro-mlflow"
    python = venv / "bin" / "python"
    if reinstall:
        shutil.rmtree(venv, ignore_errors=True)
    if python.exists():
        found = run_quiet([str(python), "-c", _VERSIONS], cwd=work, env=bench_env())
        if found.returncode == 0:
            return venv, found.stdout.strip()
    console.print(f"Creating {rel(venv)} (pip install {' '.join(REQUIREMENTS)}) …")
    shutil.rmtree(venv, ignore_errors=True)
    made = run_quiet([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)], cwd=work, env=bench_env())
    if made.returncode != 0:
        return None, f"python3 -m venv failed: {tail(made.stderr, 5)}"
    pip = run_quiet(
        [str(venv / "bin" / "pip"), "install", "-q", *REQUIREMENTS], cwd=work, env=bench_env(), timeout=1800
    )
    if pip.returncode != 0:
        errors = [line for line in (pip.stdout + pip.stderr).splitlines() if "ignored: it is neither" not in line]
        return None, "pip could not install kedro-mlflow with kedro 1.x and mlflow 3.15: " + " | ".join(errors[-6:])
    found = run_quiet([str(python), "-c", _VERSIONS], cwd=work, env=bench_env())
    if found.returncode != 0:
        return None, f"kedro-mlflow venv broken: {tail(found.stderr, 5)}"
    return venv, found.stdout.strip()


def make_project(base: Path, venv: Path, name: str, tracking_uri: str) -> Path:
    """A copy of the base project with ``kedro mlflow init``, its tracking URI, and its metrics datasets."""
    project = project_copy(base, name)
    package = project / "src" / PACKAGE
    shutil.copy(STANDALONE / "kedro_mlflow_metrics.py", package / "kedro_mlflow_metrics.py")
    registry = package / "pipeline_registry.py"
    registry.write_text(
        registry.read_text() + f"\n\nfrom {PACKAGE}.kedro_mlflow_metrics import as_metric_history\n\n"
        "wide = as_metric_history(wide)\n"
    )
    catalog = project / "conf" / "base" / "catalog.yml"
    extra = (STANDALONE / "kedro_mlflow_catalog.yml").read_text()
    catalog.write_text((catalog.read_text() if catalog.exists() else "") + extra)
    init = run_quiet([str(venv / "bin" / "kedro"), "mlflow", "init"], cwd=project, env=bench_env())
    config = project / "conf" / "local" / "mlflow.yml"
    if init.returncode != 0 or not config.exists():
        raise RuntimeError(f"kedro mlflow init failed:\n{tail(init.stdout + init.stderr)}")
    text = config.read_text()
    if "mlflow_tracking_uri: null" not in text:
        raise RuntimeError("conf/local/mlflow.yml has no 'mlflow_tracking_uri: null' line to set")
    config.write_text(text.replace("mlflow_tracking_uri: null", f"mlflow_tracking_uri: {tracking_uri}", 1))
    return project
