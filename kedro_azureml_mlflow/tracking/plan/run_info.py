"""What a run is called and tagged with, read from Kedro's ``run_params`` (pure)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.core.redaction import Redactor, active

_RUNNER_NAME = re.compile(r"(\w+) object at 0x")
TRIAL_ENV = "KEDRO_AZUREML_MLFLOW_SWEEP_TRIAL"
"""Set by ``kedro azureml sweep`` for each trial: ``{"parent_run_id": …, "trial": n}`` (JSON)."""


def pipeline_names(run_params: dict[str, Any]) -> list[str]:
    """Kedro ≥1.2 passes ``pipeline_names``; older releases pass one ``pipeline_name``."""
    names = run_params.get("pipeline_names") or []
    single = run_params.get("pipeline_name")
    if not names and single:
        names = [single]
    return list(names) or ["__default__"]


def runner_name(run_params: dict[str, Any]) -> str:
    raw = str(run_params.get("runner") or "SequentialRunner")
    match = _RUNNER_NAME.search(raw)
    return match.group(1) if match else raw.rsplit(".", 1)[-1]


def command_line(redactor: Redactor) -> str:
    """How the run was started, with secret ``--params`` values and URI passwords masked."""
    args = redactor.command(sys.argv[1:])
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join(["kedro" if program.startswith("kedro") else program, *args])


def git_commit(project_path: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_path, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def run_tags(
    run_params: dict[str, Any], project_path: Path, env: str, redactor: Redactor | None = None
) -> dict[str, str]:
    """The tags every tracked run carries, so a run in the UI says what produced it (see ``source_tags``)."""
    tags = {
        "kedro.run_id": str(run_params.get("run_id") or ""),
        "kedro.pipeline": ",".join(pipeline_names(run_params)),
        "kedro.env": str(run_params.get("env") or env),
        "kedro.runner": runner_name(run_params),
        "kedro.command": command_line(redactor or active()),
        "kedro.version": str(run_params.get("kedro_version") or ""),
        "mlflow.source.type": "PROJECT",
        "mlflow.source.name": project_path.name,
    }
    if run_params.get("tags"):
        tags["kedro.node_tags"] = ",".join(run_params["tags"])
    tags.update(trial_tags())
    return {key: value for key, value in tags.items() if value}


def trial_tags() -> dict[str, str]:
    """A sweep's trial is a child of the sweep's run, in the same experiment, found by its trial number.

    Tags on the run the plugin creates anyway: no extra request, and the warm agent is shared (the
    variable is not part of its identity, unlike ``MLFLOW_RUN_ID``, and each trial ends its own run).
    """
    raw = os.environ.get(TRIAL_ENV)
    if not raw:
        return {}
    try:
        trial = json.loads(raw)
        return {"mlflow.parentRunId": str(trial["parent_run_id"]), "kedro.sweep.trial": str(int(trial["trial"]))}
    except (ValueError, KeyError, TypeError):
        raise PluginError(f'{TRIAL_ENV}: expected {{"parent_run_id": …, "trial": n}} (got {raw[:80]!r})') from None


def source_tags(project_path: Path) -> dict[str, str]:
    """Tags that cost a subprocess (the git commit): added by the tracking agent, not the pipeline."""
    commit = git_commit(project_path)
    return {"mlflow.source.git.commit": commit} if commit else {}
