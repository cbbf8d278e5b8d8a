"""When an agent session looks the run's experiment up, in a session of this process against a real SQLite store.

The lookup is made as the session starts, so a warm run's pipeline finds the answer waiting; a session whose
run is asked for long after (a notebook's context, made minutes before its run) looks again.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.agent import session as agent_session
from kedro_azureml_mlflow.tracking.agent.session import AgentSession
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.protocol import ExperimentAnswer, Report, RunStart, SessionSpec, ToPipeline
from kedro_azureml_mlflow.tracking.wire.records import to_wire
from tests.sqlite_store import migrated_sqlite_uri
from tests.waiting import wait_until


def test_the_experiment_is_looked_up_before_the_run_is_asked_for_and_again_when_asked_for_much_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    monkeypatch.setattr(agent_session, "_LOOKUP_FRESH_SECONDS", 0.0)  # every run counts as asked for "much later"
    uri = migrated_sqlite_uri(tmp_path)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("units")
    replies: list[ToPipeline] = []
    session = _session(uri, tmp_path, replies)

    def answers() -> list[ExperimentAnswer]:
        return [reply for reply in replies if isinstance(reply, ExperimentAnswer)]

    [first] = wait_until(answers, 60, "the lookup made as the session starts")  # no run asked for yet
    assert first.deleted is None
    client.delete_experiment(experiment_id)  # in the MLflow UI, while the session waits for its run

    session.open_run(RunStart("late-run", {}, 1_700_000_000_000))
    session.end("FINISHED", 1_700_000_001_000)
    [report] = wait_until(lambda: [r for r in replies if isinstance(r, Report)], 60, "the session's report")

    [_, again] = answers()
    assert again.deleted is not None and again.deleted.name == "units"  # said to the pipeline: one line there
    assert report.run_id is None and report.journaled > 0  # kept for `kedro azureml sync` once restored
    assert client.search_runs([experiment_id], run_view_type=ViewType.ALL) == []


def test_a_session_whose_run_is_never_asked_for_makes_no_store(tmp_path: Path) -> None:
    # `kedro ipython`, `kedro catalog list`: a context (so a session), and no run.
    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database.as_posix()}"
    replies: list[ToPipeline] = []
    session = _session(uri, tmp_path, replies)
    [answer] = wait_until(
        lambda: [r for r in replies if isinstance(r, ExperimentAnswer)], 60, "the answer about the experiment"
    )
    assert answer.deleted is None
    session.end(None, 1_700_000_001_000)  # the process ends without asking for a run
    [report] = wait_until(lambda: [r for r in replies if isinstance(r, Report)], 60, "the session's report")
    assert report.run_id is None and report.journaled == 0
    assert not database.exists()


def _session(uri: str, tmp_path: Path, replies: list[ToPipeline]) -> AgentSession:
    """A session of experiment ``units`` in ``uri``, its messages to the pipeline appended to ``replies``."""
    spec = SessionSpec(
        secrets.token_hex(8),
        to_wire(TargetSpec(uri, "units", None, uri)),
        str(tmp_path),
        str(tmp_path / "j"),
        60.0,
        max_wait=10.0,
    )
    return AgentSession(spec, replies.append, lambda spec: spec.realise())
