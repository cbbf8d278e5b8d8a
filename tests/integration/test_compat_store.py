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


def test_a_new_store_is_a_copy_of_the_empty_one_exactly_as_mlflow_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from kedro_azureml_mlflow.tracking.client.client_ops import make_client
    from kedro_azureml_mlflow.tracking.client.store_template import TEMPLATE_PREFIX

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # the template lives in the private folder
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO, logger="mlflow.store.db.utils")
    roots = {name: tmp_path / name / "mlruns" for name in ("first", "second")}
    for name, root in roots.items():
        root.parent.mkdir()
        client = make_client(f"sqlite:///{root.parent / 'mlflow.db'}", root.as_uri())
        default = client.get_experiment("0")
        assert default.name == "Default" and local(default.artifact_location) == root / "0"
        experiment = client.create_experiment(name)
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "m", 1.0)
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}

    [template] = (runtime / "kedro-azureml-mlflow").glob(f"{TEMPLATE_PREFIX}*.db")
    made = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Creating initial MLflow database")]
    assert len(made) == 1  # MLflow migrated one store, the template; both projects' stores are copies of it
    assert not any(template.parent.glob("*.partial")) and not any(tmp_path.glob("*/.*.partial"))
