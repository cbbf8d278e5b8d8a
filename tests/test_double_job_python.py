"""The double's jobs run on an interpreter made from their environment's conda file, as on Azure ML: a package the
environment does not list (nor any listed package depends on) is not importable, and the job dies of it."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.azureml_double.job_process import SYSTEM_PATH
from tests.azureml_double.job_python import EnvironmentBuildError, job_python, requirements_of

PY = f"{sys.version_info.major}.{sys.version_info.minor}"  # the double's one Python
REQUESTS_ONLY = {
    "name": "job",
    "channels": ["conda-forge"],
    "dependencies": [f"python={PY}", "pip", {"pip": ["requests"]}],
}


def run_in(bin_dir: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -c code`` as a job runs it: the environment's ``bin`` first on a system PATH, nothing else."""
    return subprocess.run(
        ["python", "-c", code],
        cwd=cwd,
        env={"PATH": f"{bin_dir}:{SYSTEM_PATH}", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_environment_has_its_packages_and_their_dependencies_only(tmp_path: Path) -> None:
    bin_dir = job_python(REQUESTS_ONLY).create(tmp_path / "env")

    listed = run_in(bin_dir, "import sys, requests, urllib3, idna, pip; print(sys.prefix)", tmp_path)
    unlisted = run_in(bin_dir, "import pandas", tmp_path)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == str(tmp_path / "env")
    assert unlisted.returncode == 1
    assert "ModuleNotFoundError: No module named 'pandas'" in unlisted.stderr


def test_extras_bring_their_dependencies_and_console_scripts_use_the_environments_python(tmp_path: Path) -> None:
    conda = {"dependencies": [f"python={PY}", "pip", {"pip": ["kedro-datasets[pandas-csvdataset]"]}]}
    bin_dir = job_python(conda).create(tmp_path / "env")

    imported = run_in(bin_dir, "import pandas, kedro, kedro_datasets.pandas", tmp_path)
    kedro = (bin_dir / "kedro").read_text().splitlines()[0]

    assert imported.returncode == 0, imported.stderr
    assert kedro == f"#!{bin_dir / 'python'}"


def test_namespace_packages_show_only_the_listed_parts(tmp_path: Path) -> None:
    """``azure`` is shared by many distributions: azure-core's part is there, azure-ai-ml's is not."""
    bin_dir = job_python({"dependencies": [f"python={PY}", {"pip": ["azure-core"]}]}).create(tmp_path / "env")

    core = run_in(bin_dir, "import azure.core", tmp_path)
    ml = run_in(bin_dir, "import azure.ai.ml", tmp_path)

    assert core.returncode == 0, core.stderr
    assert "ModuleNotFoundError" in ml.stderr


@pytest.mark.parametrize(
    ("conda", "reason"),
    [
        ({"dependencies": ["python=3.8", "pip"]}, f"python=3.8: the Azure ML double has only Python {PY}"),
        ({"dependencies": [{"pip": ["no-such-package-here"]}]}, "no matching distribution for 'no-such-package-here'"),
        ({"dependencies": [{"pip": ["requests==0.1"]}]}, "no version of requests matches 'requests==0.1'"),
        ({"dependencies": ["requests=0.1"]}, "no version of requests matches 'requests==0.1.*'"),
        ({"dependencies": [{"pip": ["./wheels/x-1.0-py3-none-any.whl"]}]}, "an image build cannot install it"),
        ({"dependencies": "requests"}, "dependencies: expected a list"),
    ],
)
def test_what_an_image_build_would_refuse_is_refused(conda: dict[str, Any], reason: str) -> None:
    with pytest.raises(EnvironmentBuildError, match=re.escape(reason)):
        job_python(conda)


def test_conda_specs_become_pip_requirements() -> None:
    conda = {"dependencies": ["conda-forge::numpy=2", "scikit-learn>=1.3", f"python={PY}.4", "libgcc-ng", {"pip": []}]}
    assert [str(req) for req in requirements_of(conda)] == ["numpy==2.*", "scikit-learn>=1.3"]


def _job(double, tmp_path: Path, script: str, pip: list[str]):
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment

    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    (code / "main.py").write_text(textwrap.dedent(script))
    conda = {"name": "job", "channels": ["conda-forge"], "dependencies": [f"python={PY}", "pip", {"pip": pip}]}
    environment = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1", conda_file=conda)
    return double.ml_client().jobs.create_or_update(
        command(code=str(code), command="python main.py", compute="cpu-cluster", environment=environment)
    )


@pytest.mark.azure
def test_a_job_importing_what_its_environment_lacks_fails_as_on_azure(azureml_double, tmp_path: Path) -> None:
    script = "import sys, requests\nprint('prefix', sys.prefix)\nimport pandas\n"

    lacking = _job(azureml_double, tmp_path, script, ["requests"])
    having = _job(azureml_double, tmp_path, script, ["requests", "pandas"])

    assert azureml_double.wait_for_job(lacking.name)["status"] == "Failed"
    assert "ModuleNotFoundError: No module named 'pandas'" in azureml_double.job_log(lacking.name)
    assert azureml_double.wait_for_job(having.name)["status"] == "Completed"
    own_python = Path(azureml_double.job_info(having.name)["python_bin"]).parent
    assert f"prefix {own_python}" in azureml_double.job_log(having.name)


@pytest.mark.azure
def test_an_environment_the_double_cannot_build_fails_the_job_before_it_runs(azureml_double, tmp_path: Path) -> None:
    job = _job(azureml_double, tmp_path, "print('never runs')\n", ["no-such-package-here"])

    info = azureml_double.wait_for_job(job.name)

    assert info["status"] == "Failed" and info["pid"] is None
    assert "Environment image build failed" in info["error"]["error"]["message"]
    assert "never runs" not in azureml_double.job_log(job.name)


@pytest.mark.azure
def test_a_jobs_temporary_folder_takes_a_unix_socket_as_in_a_container(azureml_double, tmp_path: Path) -> None:
    """A container's TMPDIR is /tmp; the tracking agent binds its socket there (AF_UNIX paths: 108 bytes at most)."""
    script = """
        import os, socket, tempfile
        folder = os.path.join(tempfile.gettempdir(), "kedro-azureml-mlflow-0")
        os.makedirs(folder)
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(os.path.join(folder, "x" * 32 + ".sock"))
        print("bound in", folder)
    """
    job = _job(azureml_double, tmp_path, script, ["requests"])

    assert azureml_double.wait_for_job(job.name)["status"] == "Completed", azureml_double.job_log(job.name)
    assert "bound in /tmp/" in azureml_double.job_log(job.name)
