#!/usr/bin/env bash
# Install what the checks need from the project's own files, run every gate, then the whole suite
# under coverage. This is what CI runs (.ci/run).
# Usage: bash scripts/test.sh [pytest args]
#        SKIP_GATES=1 bash scripts/test.sh [pytest args]   # the tests only, for a quick local loop
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export KEDRO_DISABLE_TELEMETRY=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true NO_MKDOCS_2_WARNING=1
# Python caches compiled modules by default, and users' processes do. A machine that turns it off
# (PYTHONDONTWRITEBYTECODE) would have each of the suite's hundreds of `kedro` processes and agents compile
# the plugin and the test projects afresh: about 0.9 CPU-s of a starter `kedro run`'s 6.
unset PYTHONDONTWRITEBYTECODE

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,docs]"
# In the processes coverage measures (COVERAGE_PROCESS_CONFIG, set by `patch = ["subprocess"]`), its tracer
# rests while library modules are imported (tests/coverage_scope.py). Sorted after coverage's a1_coverage.pth.
site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
printf '%s\n' "import os; _kam = '$repo/tests/coverage_scope.py'; os.environ.get('COVERAGE_PROCESS_CONFIG') and os.path.isfile(_kam) and exec(compile(open(_kam).read(), _kam, 'exec'), {'__name__': '__main__'})" > "$site/zz_kedro_azureml_mlflow_tests_coverage.pth"
# Azurite (Azure Storage emulator) backs the local Azure ML double; pinned in package-lock.json.
[ -d node_modules/azurite ] || npm ci --no-audit --no-fund --loglevel=error

step() { printf '\n== %s\n' "$*"; }
if [ -z "${SKIP_GATES:-}" ]; then
    step "ruff check";            .venv/bin/ruff check .
    step "ruff format --check";   .venv/bin/ruff format --check .
    step "mypy (strict)";         .venv/bin/mypy
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    step "mkdocs build --strict"; .venv/bin/mkdocs build --strict --quiet --site-dir "$scratch/site"
    step "python -m build, twine check"
    .venv/bin/python -m build --outdir "$scratch/dist" > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; exit 1; }
    .venv/bin/twine check --strict "$scratch"/dist/*
fi
step "pytest, with coverage (the floor is fail_under in pyproject.toml)"
rm -f .coverage .coverage.*
# Three workers (pytest-xdist) on CI's two cores, each with its own Azure ML double: the tests wait on
# subprocesses and jobs often enough that two workers left the CPUs 17 % idle (three: 7 %; the run 20 min
# instead of 22.5, docs/contributing.md). Work stealing evens out the long tests. `-n 0` runs serially.
.venv/bin/python -m pytest --cov --cov-report=term -n 3 --dist worksteal "$@"
