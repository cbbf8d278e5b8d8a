"""A test process killed by a timeout or SIGKILL runs no teardown: the double it started (mlflow server and
its worker, Azurite, the control plane and the jobs running on it) must end all the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.azureml_double.fixtures import double_cache_dir
from tests.azureml_double.reaper import start_time
from tests.process_tree import alive, descendants, ended

REPO_ROOT = Path(__file__).resolve().parents[2]

STARTER = textwrap.dedent(
    """
    import json, pathlib, sys
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment
    from tests.azureml_double.launcher import AzureMLDouble, patched_environ

    work, cache, code = (pathlib.Path(arg) for arg in sys.argv[1:4])
    double = AzureMLDouble(work, cache_dir=cache).start()
    with patched_environ(double.client_env()):
        job = double.ml_client().jobs.create_or_update(
            command(
                code=str(code),
                command="sleep 600",
                environment=Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
                compute="cpu-cluster",
            )
        )
    info = double.wait_for_job(job.name, timeout=300, statuses=("Running",))
    print(json.dumps({"job_pid": info["pid"]}), flush=True)
    sys.stdin.read()  # until killed
    """
)


@pytest.mark.slow
@pytest.mark.azure
def test_a_killed_starter_leaves_no_process_of_the_double(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "job.txt").write_text("a job that sleeps\n")
    cache = double_cache_dir(pytestconfig)  # the empty mlflow store the fixtures keep, if made
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "double"), str(cache), str(code)],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AZUREML_"))},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = starter.stdout.readline()  # type: ignore[union-attr]
        assert line, f"the starter ended with {starter.wait(30)} before its job ran"
        job_pid = json.loads(line)["job_pid"]
        processes = {pid: start_time(pid) for pid in descendants(starter.pid, at_least=1) or ()}
        commands = "\n".join(alive(processes).values())
        for piece in ("mlflow server", "azurite", "-m tests.azureml_double", "reaper.py", "sleep 600"):
            assert piece in commands, f"{piece!r} is not among the starter's processes:\n{commands}"
        assert job_pid in processes

        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(30)

        assert ended(processes, within=60) == {}
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait(30)
