"""The one hand-off from the pipeline's process to its ParallelRunner workers: what is written is what a
worker reads back, a hand-off that does not fit is one line naming the field, and a worker's hooks join
the parent's session from it once per process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.hooks.tracking_hooks import AzureMLMlflowHooks
from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.io.artifacts.auto import ArtifactRules
from kedro_azureml_mlflow.io.worker_handoff import (
    HANDOFF_ENV,
    ArtifactShare,
    DataAccessShare,
    WorkerHandoff,
    received,
    share_data_access,
    share_tracking,
    withdraw_tracking,
)
from kedro_azureml_mlflow.settings.config import CredentialsConfig
from kedro_azureml_mlflow.tracking.pipeline_side import node_code
from kedro_azureml_mlflow.tracking.pipeline_side.worker import WorkerLink
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint
from kedro_azureml_mlflow.tracking.wire.protocol import RunStart, WorkerShare
from kedro_azureml_mlflow.tracking.wire.records import to_wire


@pytest.fixture(autouse=True)
def no_handoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without a hand-off; whatever it writes is undone afterwards."""
    monkeypatch.delenv(HANDOFF_ENV, raising=False)


def session(tmp_path: Path) -> WorkerShare:
    return WorkerShare(
        endpoint=Endpoint(str(tmp_path / "agent.sock"), tmp_path / "agent.key"),
        session_id="0123abcd",
        patterns=("*_metrics",),
        separator=".",
        journal_dir=str(tmp_path / "journal"),
        target=to_wire(TargetSpec(f"sqlite:///{tmp_path / 'mlflow.db'}", "demo", None, "the project's mlflow.db")),
        max_wait=7.5,
        run=RunStart("training", {"kedro.pipeline": "__default__"}, 1_700_000_000_000, run_key="f" * 32),
    )


def artifacts(tmp_path: Path) -> ArtifactShare:
    return ArtifactShare(str(tmp_path / "staging"), False, ArtifactRules(("*_plot",), "parquet", 2.5))


def data_access() -> DataAccessShare:
    credentials = CredentialsConfig.model_validate({"type": "managed_identity", "client_id": "c-1"})
    return DataAccessShare(WorkspaceRef("s-1", "rg", "ws", "conf/base/azureml.yml"), credentials)


def test_what_the_hooks_share_is_what_a_worker_reads_back(tmp_path: Path) -> None:
    share_data_access(data_access())
    share_tracking(session(tmp_path), artifacts(tmp_path))

    assert list(json.loads(os.environ[HANDOFF_ENV])) == ["data_access", "session", "artifacts"]  # one variable
    assert received() == WorkerHandoff(session(tmp_path), artifacts(tmp_path), data_access())


def test_the_end_of_a_run_withdraws_its_session_and_keeps_the_workspace(tmp_path: Path) -> None:
    share_data_access(data_access())
    share_tracking(session(tmp_path), artifacts(tmp_path))
    withdraw_tracking()
    assert received() == WorkerHandoff(data_access=data_access())

    os.environ.pop(HANDOFF_ENV)
    share_tracking(None, artifacts(tmp_path))  # a run without a socket: no session to join
    withdraw_tracking()
    assert HANDOFF_ENV not in os.environ  # nothing left to hand over: no variable at all
    assert received() == WorkerHandoff()


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("not json", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        ('{"session": {"endpoint": {"address": "a", "key_file": "k"}, "session_id": "s"}}', "session.patterns: "),
        ('{"artifacts": {"staging": "s", "register_models": true, "rules": {"patterns": [], "max_mb": "big"}}}', ""),
        ('{"data_access": {"workspace": null, "credentials": {"type": "password"}}}', "data_access.credentials.type"),
        ('{"sesion": {}}', "sesion: "),
        ("[1, 2]", "not a worker hand-off: "),
    ],
)
def test_a_handoff_that_does_not_fit_is_one_line_naming_the_field(
    written: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HANDOFF_ENV, written)
    with pytest.raises(PluginError) as raised:
        received()
    message = raised.value.message
    assert "\n" not in message
    assert message.startswith(f"{HANDOFF_ENV}: ")
    assert problem in message
    assert message.endswith(
        "expected the JSON the plugin's hooks write for ParallelRunner workers (unset it if it was set by hand)"
    )
    if not problem:  # the third case: the field that does not fit is named
        assert "artifacts.rules.max_mb: " in message


def test_the_pipeline_process_does_not_overwrite_a_handoff_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HANDOFF_ENV, "[1, 2]")
    with pytest.raises(PluginError, match=f"^{HANDOFF_ENV}: not a worker hand-off: a JSON list; "):
        share_data_access(data_access())
    assert os.environ[HANDOFF_ENV] == "[1, 2]"


def test_withdrawing_an_unreadable_handoff_removes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Withdrawing runs at a run's end and on a failed start: it must not fail there."""
    monkeypatch.setenv(HANDOFF_ENV, "not json")
    withdraw_tracking()
    assert HANDOFF_ENV not in os.environ


def test_a_workers_hooks_join_the_parents_session_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ParallelRunner's worker does with the hand-off (no connection: the link connects on first use)."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the link's node-code bridge watches imports
    monkeypatch.setattr(node_code, "_current", [])
    share_tracking(session(tmp_path), artifacts(tmp_path))
    hooks = AzureMLMlflowHooks()
    try:
        link = hooks._handover()
        assert isinstance(link, WorkerLink)
        assert link.share == session(tmp_path)
        assert hooks._handover() is link  # joined once
        joined = handoff.current()
        assert joined is not None and joined.in_worker
        assert joined.staging == tmp_path / "staging" / f"worker-{os.getpid()}"
        assert joined.register_models is False
        assert hooks._artifact_rules == ArtifactRules(("*_plot",), "parquet", 2.5)

        assert hooks._worker is not None
        hooks._worker = (os.getpid() + 1, hooks._worker[1])  # as a forked child sees its parent's link
        assert hooks._handover() is not link
    finally:
        handoff.uninstall()


def test_a_process_without_a_session_to_join_has_no_worker_side(tmp_path: Path) -> None:
    share_data_access(data_access())
    share_tracking(None, artifacts(tmp_path))
    hooks = AzureMLMlflowHooks()
    assert hooks._handover() is None
    assert handoff.current() is None
    assert hooks._artifact_rules is None
