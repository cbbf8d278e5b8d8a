"""A real ``mlflow server`` on a SQLite backend, in its own process group (so it stops with its workers)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from benchmarks.harness.common import bench_env, tail
from tests.coverage_scope import unmeasured
from tests.ports import free_port


class MlflowServer:
    """``mlflow server --workers 1`` on 127.0.0.1, its db and artifacts under ``workdir``."""

    def __init__(self, mlflow_bin: Path, workdir: Path, serve_artifacts: bool = False) -> None:
        """``serve_artifacts``: clients upload artifacts to the server over HTTP (``--artifacts-destination``)
        instead of writing them into its folder themselves (``--default-artifact-root``)."""
        self.port = free_port()
        self.workdir = workdir
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self.log = workdir / "server.log"
        cmd = [
            str(mlflow_bin),
            "server",
            "--backend-store-uri",
            f"sqlite:///{(workdir / 'server.db').as_posix()}",
            "--artifacts-destination" if serve_artifacts else "--default-artifact-root",
            (workdir / "artifacts").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=workdir,
                env=unmeasured(bench_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 180) -> None:
        """Return once ``/health`` answers 200; raise (with the server's log) if it exits or the deadline passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({self.process.returncode}):\n{tail(self.log.read_text())}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)  # poll interval; the deadline above is what fails
        raise RuntimeError(f"mlflow server not healthy after {timeout:.0f}s:\n{tail(self.log.read_text())}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
