"""The agent's local channel: a socket only its user reaches, wherever ``TMPDIR`` points."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.wire import channel

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX sockets: POSIX only")


@pytest.fixture
def deep_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``TMPDIR`` as deep as an Azure ML job's scratch folder can be."""
    deep = tmp_path / ("job-scratch-" + "x" * 40) / "home"
    deep.mkdir(parents=True)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    return deep


def test_a_deep_tmpdir_still_gives_a_socket_that_binds_and_connects(deep_tmpdir: Path) -> None:
    name = "0123456789abcdef"
    endpoint = channel.endpoint_for(name)
    assert len(os.fsencode(deep_tmpdir / f"kedro-azureml-mlflow-{os.getuid()}" / f"{name}.sock")) > 108
    assert len(os.fsencode(endpoint.address)) <= 100
    assert endpoint.key_file.parent.is_relative_to(deep_tmpdir)  # only the socket moved
    assert os.stat(Path(endpoint.address).parent).st_mode & 0o077 == 0

    key = channel.write_new_key(endpoint)
    with channel.listen(endpoint, key) as listener:
        answers: list[dict[str, str]] = []

        def serve() -> None:
            with listener.accept() as conn:
                channel.send(conn, {"echo": channel.receive(conn)["say"]})

        server = threading.Thread(target=serve)
        server.start()
        with channel.connect(endpoint, timeout=30) as conn:
            channel.send(conn, {"say": "hello"})
            answers.append(channel.receive(conn))
        server.join(timeout=30)
    assert answers == [{"echo": "hello"}]


def test_a_short_tmpdir_keeps_the_socket_beside_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    endpoint = channel.endpoint_for("0123456789abcdef")
    assert Path(endpoint.address).parent == endpoint.key_file.parent


def test_two_deep_runtime_folders_never_share_a_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One environment's agent name under two XDG_RUNTIME_DIR (two pytest workers, two sessions of one
    # account): both sockets move to the short folder, and each must pair with its own key.
    endpoints = []
    for i in (1, 2):
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / ("x" * 60) / str(i)))
        endpoints.append(channel.endpoint_for("0123456789abcdef"))
    first, second = endpoints
    assert Path(first.address).parent == Path(second.address).parent  # both moved: their folders are deep
    assert first.address != second.address
    assert all(len(os.fsencode(endpoint.address)) <= 100 for endpoint in (first, second))
