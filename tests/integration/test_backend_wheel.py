"""The job command's wheel install, run by a real shell."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from kedro_azureml_mlflow.backend.environment import (
    LocalWheel,
    install_wheels_command,
)


def test_wheel_install_is_skipped_when_that_version_is_installed(tmp_path: Path) -> None:
    """The emulated compute (and a pre-built environment) already has the plugin: no reinstall."""
    installed = metadata.version("kedro-azureml-mlflow")
    venv_first = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    present = LocalWheel("./absent/kedro_azureml_mlflow.whl", "kedro_azureml_mlflow", installed, ())
    skipped = subprocess.run(
        ["bash", "-c", install_wheels_command([present])], cwd=tmp_path, env=venv_first, capture_output=True, text=True
    )
    assert skipped.returncode == 0, skipped.stderr  # pip never looked for the (absent) wheel
    other = LocalWheel("./absent/kedro_azureml_mlflow.whl", "kedro_azureml_mlflow", installed + ".dev9", ())
    tried = subprocess.run(
        ["bash", "-c", install_wheels_command([other])], cwd=tmp_path, env=venv_first, capture_output=True, text=True
    )
    assert tried.returncode != 0 and "absent" in tried.stderr + tried.stdout
