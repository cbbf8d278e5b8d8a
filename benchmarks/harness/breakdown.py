"""Where a tracked run's start-up time goes: each piece timed in a fresh interpreter."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from benchmarks.harness.common import STANDALONE, bench_env, run_quiet, tail

PROBE = STANDALONE / "import_probe.py"
ORDER = (
    "python start-up (-c pass)",
    "import kedro.framework.cli",
    "import the plugin's hooks module (after Kedro)",
    "import mlflow (MlflowClient)",
    "import MLflow's SQLAlchemy store (SQLAlchemy + ORM)",
)

Rows = list[tuple[str, list[float]]]


def breakdown(work: Path, repeat: int) -> Rows:
    """Seconds for the pieces of a tracked run's start-up, ``repeat`` times each, in :data:`ORDER`."""
    scratch = work / "probe"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env, python = bench_env(), sys.executable
    rows: dict[str, list[float]] = {}

    def probe(*args: str) -> None:
        result = run_quiet([python, str(PROBE), *args], cwd=scratch, env=env)
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
        rows.setdefault(ORDER[0], []).append(time.perf_counter() - start)
        probe("kedro")
        probe("plugin")
        db = f"sqlite:///{(scratch / f'new-{i}.db').as_posix()}"
        probe("create a new", db)
        probe("open the existing", db)
    return sorted(rows.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER))
