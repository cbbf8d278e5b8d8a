#!/usr/bin/env bash
# Fresh machine to a tracked run: a virtual environment with the plugin, a project from the
# azureml-mlflow starter, one `kedro run` tracked to the embedded store, and the run shown.
# Usage: bash scripts/demo.sh [PROJECT_PARENT_DIR]   (default: ./demo-projects)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
parent="$(mkdir -p "${1:-$repo/demo-projects}" && cd "${1:-$repo/demo-projects}" && pwd)"
export KEDRO_DISABLE_TELEMETRY=true MLFLOW_DISABLE_TELEMETRY=true

[ -x "$repo/.venv/bin/python" ] || python3 -m venv "$repo/.venv"
"$repo/.venv/bin/python" -m pip install --quiet --upgrade pip
"$repo/.venv/bin/python" -m pip install --quiet "$repo"
kedro="$repo/.venv/bin/kedro"

rm -rf "$parent/demo"
(cd "$parent" && "$kedro" new --starter=azureml-mlflow --name demo)
cd "$parent/demo"
# The project's own requirements; the plugin line is already satisfied by the install above.
"$repo/.venv/bin/python" -m pip install --quiet -r requirements.txt
"$kedro" run
"$kedro" azureml runs
echo "Project: $parent/demo — browse its runs with: cd $parent/demo && $kedro azureml ui"
