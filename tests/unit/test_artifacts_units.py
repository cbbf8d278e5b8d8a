"""Artifacts piece by piece: what an output becomes as a file, staging and hand-over, the datasets,
keeping a copy for the journal, and sending/replaying ``{"artifact": …}`` records into real SQLite."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from kedro.io import DatasetError

from kedro_azureml_mlflow.datasets import MlflowArtifactDataset, MlflowModelDataset
from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.io.artifacts.auto import ArtifactRules
from kedro_azureml_mlflow.io.artifacts.formats import as_file
from kedro_azureml_mlflow.tracking.client.artifact_ops import discard
from kedro_azureml_mlflow.tracking.journal.journal import Journal, load_journal
from kedro_azureml_mlflow.tracking.journal.kept_files import (
    keep_for_journal,
    kept_directory,
    with_kept_file,
)
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord, ArtifactUpload, RunHeader, parse_record, to_wire

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def written(value: Any, tmp_path: Path, dataframe_format: str = "csv") -> tuple[str, bytes]:
    file = as_file(value, dataframe_format)
    assert file is not None, f"{type(value)} should be loggable"
    path = tmp_path / f"out{file.suffix}"
    file.write(path)
    return file.suffix, path.read_bytes()


def test_figures_become_png_and_html(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    suffix, content = written(figure, tmp_path)
    assert suffix == ".png" and content.startswith(PNG_MAGIC)
    suffix, content = written(go.Figure(go.Bar(y=[1, 2])), tmp_path)
    assert suffix == ".html" and b"Plotly.newPlot" in content


def test_tables_become_csv_or_parquet(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": [3.5, 4.5]})
    assert written(frame, tmp_path) == (".csv", b"a,b\n1,3.5\n2,4.5\n")  # a 0..n-1 index is left out
    labelled = frame.set_index(pd.Index(["x", "y"], name="row"))
    assert written(labelled, tmp_path)[1] == b"row,a,b\nx,1,3.5\ny,2,4.5\n"
    assert written(frame["a"], tmp_path)[1] == b"a\n1\n2\n"  # a Series is a one-column table
    suffix, _ = written(frame, tmp_path, "parquet")
    assert suffix == ".parquet"
    assert pd.read_parquet(tmp_path / "out.parquet").equals(frame)
    assert as_file(frame).size_bytes == int(frame.memory_usage(deep=True).sum())


def test_json_and_text(tmp_path: Path) -> None:
    import numpy as np

    suffix, content = written({"accuracy": np.float64(0.5), "counts": np.array([1, 2]), "labels": ["a"]}, tmp_path)
    assert suffix == ".json"
    assert json.loads(content) == {"accuracy": 0.5, "counts": [1, 2], "labels": ["a"]}
    assert written("hello\n", tmp_path) == (".txt", b"hello\n")


@pytest.mark.parametrize("value", [object(), {"a": object()}, {1, 2}, b"bytes", 3.5])
def test_what_cannot_be_written_is_none(value: Any) -> None:
    assert as_file(value) is None


@pytest.fixture
def staged(tmp_path: Path) -> Any:
    """A handoff installed as the hooks install it, whose records land in a list."""
    records: list[ArtifactRecord] = []
    handoff.install(handoff.Handoff(records.append, tmp_path / "staging"))
    yield records
    handoff.finish()
    handoff.uninstall()


def test_matching_outputs_are_staged_and_handed_over(staged: list, tmp_path: Path) -> None:
    rules = ArtifactRules(("*_report",))
    rules.log_outputs({"eval_report": {"f1": 0.5}, "other": {"f1": 0.5}}, catalog={})
    [record] = staged
    assert record.owned and record.artifact_path is None and record.label == "eval_report"
    assert Path(record.local_path).name == "eval_report.json"
    assert json.loads(Path(record.local_path).read_text()) == {"f1": 0.5}
    assert Path(record.local_path).is_relative_to(tmp_path / "staging")


def test_an_unloggable_type_is_named_in_one_warning(staged: list, caplog: pytest.LogCaptureFixture) -> None:
    ArtifactRules(("*_report",)).log_outputs({"x_report": object()}, catalog={})
    assert staged == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Output 'x_report'" in warning and "builtins.object" in warning
    assert "MlflowArtifactDataset" in warning


def test_an_output_over_the_cap_says_how_to_log_it_anyway(staged: list, caplog: pytest.LogCaptureFixture) -> None:
    ArtifactRules(("*_report",), max_mb=0.001).log_outputs({"big_report": "x" * 2000}, catalog={})
    assert staged == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Output 'big_report' (a text of 0.0 MB) is over tracking.artifacts.max_mb (0.001 MB)" in warning
    assert "raise tracking.artifacts.max_mb" in warning and "MlflowArtifactDataset" in warning


def test_without_a_tracked_run_nothing_is_staged(tmp_path: Path) -> None:
    assert handoff.current() is None
    ArtifactRules(("*",)).log_outputs({"a_report": {"x": 1}}, catalog={})
    dataset = MlflowArtifactDataset({"type": "json.JSONDataset", "filepath": str(tmp_path / "r.json")})
    dataset.save({"x": 1})
    assert dataset.load() == {"x": 1}  # saved locally all the same


def test_artifact_dataset_saves_then_hands_over_its_file(staged: list, tmp_path: Path) -> None:
    target = tmp_path / "data" / "report.json"
    dataset = MlflowArtifactDataset({"type": "json.JSONDataset", "filepath": str(target)}, artifact_path="reports/")
    dataset.save({"x": 1})
    [record] = staged
    assert record == ArtifactRecord(str(target.resolve()), "reports", owned=False, label="report.json")
    assert json.loads(target.read_text()) == {"x": 1}
    # A declared artifact dataset logs itself: the automatic rules leave it alone.
    ArtifactRules(("*",)).log_outputs({"report": {"x": 1}}, catalog=_Catalog(report=dataset))
    assert len(staged) == 1


def test_artifact_dataset_hands_over_the_new_version_of_a_versioned_dataset(staged: list, tmp_path: Path) -> None:
    config = {"type": "json.JSONDataset", "filepath": str(tmp_path / "report.json"), "versioned": True}
    MlflowArtifactDataset(config).save({"x": 1})
    [record] = staged
    version_folder = Path(record.local_path).parent
    assert version_folder.parent == tmp_path / "report.json" and Path(record.local_path).is_file()


def test_artifact_dataset_refuses_a_dataset_that_saves_elsewhere() -> None:
    with pytest.raises(DatasetError, match="needs a dataset that saves to a local filepath"):
        MlflowArtifactDataset({"type": "json.JSONDataset", "filepath": "memory://bucket/report.json"})


def test_model_dataset_checks_its_names() -> None:
    with pytest.raises(DatasetError, match="flavor must name an mlflow module"):
        MlflowModelDataset(flavor="sk-learn")
    with pytest.raises(DatasetError, match="registered_model_name 'iris clf'"):
        MlflowModelDataset(flavor="sklearn", registered_model_name="iris clf")
    with pytest.raises(DatasetError, match="has no model yet"):
        MlflowModelDataset(flavor="sklearn").load()


def test_model_dataset_takes_the_first_rows_of_its_named_input_as_example(staged: list) -> None:
    import pandas as pd
    from kedro.pipeline import node

    from kedro_azureml_mlflow.io.artifacts.model_dataset import capture_input_examples

    dataset = MlflowModelDataset(flavor="sklearn", input_example="features")
    features = pd.DataFrame({"a": range(20)})
    capture_input_examples(node(lambda f: f, "features", "model"), _Catalog(model=dataset), {"features": features})
    assert dataset._example.equals(features.head(5))


class _Catalog(dict):
    """The two catalog calls the plugin makes: ``name in catalog`` and ``catalog.get(name)``."""


# --- the tracking side: records, journal copies, sending, replay (real SQLite) ---------------


def test_record_round_trips_through_json() -> None:
    record = ArtifactRecord("/tmp/model", "model", owned=True, register_as="iris-clf", label="model")
    assert parse_record(json.loads(json.dumps(to_wire(ArtifactUpload(record))))) == ArtifactUpload(record)


def test_journal_keeps_a_copy_of_user_files_and_takes_the_plugins_own(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", RunHeader("sqlite://", "e", None, None, {}, 0))
    users = tmp_path / "data" / "report.json"
    users.parent.mkdir()
    users.write_text("{}")
    kept = keep_for_journal(ArtifactRecord(str(users)), journal)
    assert kept.owned and not Path(kept.local_path).is_absolute()  # the journal may move with its files
    whole = with_kept_file(ArtifactUpload(kept), journal.path).artifact  # type: ignore[union-attr]
    assert users.exists() and Path(whole.local_path).read_text() == "{}"
    assert Path(whole.local_path).is_relative_to(kept_directory(journal.path))

    staged_model = tmp_path / "staging" / "model"
    staged_model.mkdir(parents=True)
    (staged_model / "MLmodel").write_text("flavors: {}")
    journal.records += 1  # the writer counts each record it keeps
    moved = keep_for_journal(ArtifactRecord(str(staged_model), "model", owned=True), journal)
    moved = with_kept_file(ArtifactUpload(moved), journal.path).artifact  # type: ignore[union-attr]
    assert not staged_model.exists() and (Path(moved.local_path) / "MLmodel").is_file()
    discard(moved)
    discard(whole)
    discard(ArtifactRecord(str(users)))  # never the user's own file
    assert users.exists() and not kept_directory(journal.path).exists()  # emptied folders go too


def test_a_plugin_file_another_journal_took_is_not_journaled_twice(tmp_path: Path) -> None:
    # The agent's watchdog and the pipeline (past its wait) may both journal the model being uploaded: the
    # first moves the staged file into its journal; the second once wrote a record pointing at the staged
    # path, which sync then set aside as "no longer exists" (seen in a full CI run).
    staged_model = tmp_path / "staging" / "model"
    staged_model.mkdir(parents=True)
    (staged_model / "MLmodel").write_text("flavors: {}")
    record = ArtifactUpload(ArtifactRecord(str(staged_model), "model", owned=True))
    agents = Journal(tmp_path / "agent", RunHeader("sqlite://", "e", None, None, {}, 0))
    pipelines = Journal(tmp_path / "pipeline", RunHeader("sqlite://", "e", None, None, {}, 0))
    agents.write(record)
    pipelines.write(record)
    pipelines.write(Batch(metrics=[("loss", 0.5, 1, 0)]))
    [(_, kept)] = load_journal(agents.path).records
    assert (Path(with_kept_file(kept, agents.path).artifact.local_path) / "MLmodel").is_file()  # type: ignore[union-attr]
    assert [record for _, record in load_journal(pipelines.path).records] == [Batch(metrics=[("loss", 0.5, 1, 0)])]

    users = tmp_path / "report.json"  # a user's file that is gone is still journaled: sync says it is missing
    users_record = ArtifactUpload(ArtifactRecord(str(users)))
    pipelines.write(users_record)
    assert [record for _, record in load_journal(pipelines.path).records][-1] == users_record


def test_a_model_that_cannot_be_saved_is_a_warning_not_a_failed_pipeline(
    staged: list, caplog: pytest.LogCaptureFixture
) -> None:
    MlflowModelDataset(flavor="no_such_flavor").save(object())
    handoff.finish()
    assert staged == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Model 'model' could not be prepared for the run" in warning and "mlflow.no_such_flavor" in warning
