#!/usr/bin/env bash
# Install what the tests need from the project's own files, then run the whole suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export KEDRO_DISABLE_TELEMETRY=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# Azurite (Azure Storage emulator) backs the local Azure ML double; pinned in package-lock.json.
[ -d node_modules/azurite ] || npm ci --no-audit --no-fund --loglevel=error

exec .venv/bin/python -m pytest "$@"
