"""``compat.client_with_artifact_root`` against a real SQLite store with the installed MLflow (bounded in
``pyproject.toml``; ``tests/unit/test_compat.py`` checks the installed version is inside the bounds)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from kedro_azureml_mlflow.core.compat import client_with_artifact_root


def local(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))


def test_each_projects_experiments_get_its_own_artifact_root_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "agent-folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the agent's own folder: MLflow's default root would be ./mlruns here
    uri = f"sqlite:///{tmp_path / 'shared.db'}"  # one store, two projects writing to it
    first, second = (tmp_path / name / "mlruns" for name in ("first", "second"))

    client_first = client_with_artifact_root(uri, first.as_uri())
    client_second = client_with_artifact_root(uri, second.as_uri())
    first_id = client_first.create_experiment("first")
    second_id = client_second.create_experiment("second")

    assert local(client_first.get_experiment(first_id).artifact_location) == first / first_id
    assert local(client_second.get_experiment(second_id).artifact_location) == second / second_id
    assert local(client_first.get_experiment("0").artifact_location) == first / "0"  # the new store's Default
    run = client_second.create_run(second_id)
    (tmp_path / "note.txt").write_text("x")
    client_second.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    assert (second / second_id / run.info.run_id / "artifacts" / "note.txt").is_file()
    assert not (elsewhere / "mlruns").exists()
