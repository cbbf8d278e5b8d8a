"""The scratch Kedro project every scenario copies: ``kedro new``, then the test suite's pipelines."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness.common import bench_env, run_quiet, tail, write
from tests.kedro_project import PARAMETERS, PIPELINES

PACKAGE = "bench"
RUN_ARGS = ("run", "--pipelines", "many")  # `--pipeline` is deprecated in Kedro 1.x
PLUGIN_DIST = "kedro-azureml-mlflow"  # the metadata Name that DISABLE_HOOKS_FOR_PLUGINS matches


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
    """A private copy of the base project, ``projects/<name>`` (each scenario has its own)."""
    target = base.parent / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    return target


def disable_hooks(project: Path, dist_name: str) -> None:
    """``DISABLE_HOOKS_FOR_PLUGINS``: Kedro matches the distribution's metadata ``Name``."""
    settings = project / "src" / PACKAGE / "settings.py"
    settings.write_text(settings.read_text() + f"\nDISABLE_HOOKS_FOR_PLUGINS = ({dist_name!r},)\n")


def azureml_yml(project: Path, tracking: dict[str, object]) -> None:
    """``conf/base/azureml.yml`` with this ``tracking:`` section (JSON is YAML)."""
    write(project / "conf" / "base" / "azureml.yml", json.dumps({"tracking": tracking}) + "\n")


def remover(*paths: Path) -> Callable[[], None]:
    """A ``Scenario.before`` that deletes these files (for "first run" scenarios)."""

    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    return remove
