"""A real ``mlflow server`` behind the benchmarks' counting proxy, for tests that count requests on the wire.

``counted_mlflow`` (session scoped) starts one server for the whole test session; each test reads
the requests it caused with ``proxy.take()`` (call it once first to drop what came before).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.harness.mlflow_server import MlflowServer
from benchmarks.harness.proxy import CountingProxy


@dataclass
class CountedMlflow:
    server: MlflowServer
    proxy: CountingProxy

    @property
    def url(self) -> str:
        """The proxy's URL: every request through it is counted."""
        return f"http://127.0.0.1:{self.proxy.port}"

    def requests(self) -> int:
        """How many requests reached the server since the last call."""
        return sum(self.proxy.take().values())


@pytest.fixture(scope="session")
def counted_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountedMlflow]:
    server = MlflowServer(Path(sys.executable).with_name("mlflow"), tmp_path_factory.mktemp("mlflow-server"))
    try:
        server.wait_healthy()
        proxy = CountingProxy(server.port).start()
        yield CountedMlflow(server, proxy)
        proxy.stop()
    finally:
        server.stop()
