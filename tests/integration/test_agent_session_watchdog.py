"""The end's watchdog, in an agent session of this process against a real SQLite store."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.agent.session import AgentSession
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.protocol import Report, RunStart, SessionSpec, ToPipeline
from kedro_azureml_mlflow.tracking.wire.records import to_wire
from tests.sqlite_store import migrated_sqlite_uri
from tests.waiting import wait_until


def test_a_session_that_ended_in_time_never_reports_giving_up_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A warm agent outlives its sessions: the watchdog of one that ended in time once fired anyway, 90 % of
    # max_wait after the end, and logged "Gave up waiting for the tracking server; the rest is in None".
    uri = migrated_sqlite_uri(tmp_path)
    target = to_wire(TargetSpec(uri, "units", None, uri))
    spec = SessionSpec(secrets.token_hex(8), target, str(tmp_path), str(tmp_path / "j"), 60.0, max_wait=3.0)
    replies: list[ToPipeline] = []
    caplog.set_level(logging.WARNING, logger="kedro_azureml_mlflow.tracking.agent.session")
    session = AgentSession(spec, replies.append, lambda spec: spec.realise())
    session.open_run(RunStart("unit-run", {}, 1_700_000_000_000))
    session.add(1, Batch(metrics=[("loss", 0.5, 1, 0)]))
    session.end("FINISHED", 1_700_000_001_000)
    [report] = wait_until(lambda: [r for r in replies if isinstance(r, Report)], 60, "the session's report")
    assert report.run_id is not None and report.journaled == 0  # ended in time: nothing to give up on
    time.sleep(spec.budget.watchdog_seconds + 1)  # past the watchdog (2.7 s after the end)
    assert [r.getMessage() for r in caplog.records if "Gave up" in r.getMessage()] == []
