"""A journal written by the plugin's own writer before the wire format became pydantic models still replays.

``tests/fixtures/journal_v1`` was written with ``Journal.write`` at commit 4a185a3 (the journal format
as released): a header whose run could not be created (its server unreachable), params and tags,
metrics (NaN and infinity among them), an artifact file and a model folder with their kept copies, and
the run's end. Replayed into a real SQLite store, every value must arrive, unchanged.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking.client import client_ops
from kedro_azureml_mlflow.tracking.journal.journal import pending_journals
from kedro_azureml_mlflow.tracking.journal.replay import replay_journal

FIXTURE = Path(__file__).parent.parent / "fixtures" / "journal_v1"
RECORDED_URI = "http://user@127.0.0.1:9/"  # journaled without its password, as every header is
EXPERIMENT = "journal-v1"
RUN_KEY = "0123456789abcdef0123456789abcdef"


def test_a_journal_written_by_the_first_format_replays_every_value(tmp_path: Path) -> None:
    journals = tmp_path / "journal"
    shutil.copytree(FIXTURE, journals)
    store = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    client = client_ops.make_client(store)
    client.create_experiment(EXPERIMENT, artifact_location=(tmp_path / "artifacts").as_uri())
    asked: list[str] = []

    def connect(uri: str) -> Any:
        asked.append(uri)
        return client

    outcome = replay_journal(journals / "run.jsonl", connect)

    assert asked == [RECORDED_URI]
    assert (outcome.sent, outcome.set_aside, outcome.stopped) == (5, [], None)
    assert pending_journals(journals) == []  # delivered, so removed
    assert not (journals / "run.files").exists()  # its kept copies too, once sent
    run = client.get_run(outcome.run_id)
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert (run.info.run_name, run.info.status) == ("fixture-run", "FINISHED")
    assert (run.info.start_time, run.info.end_time) == (1764950000000, 1764950003000)
    assert run.data.params == {"model.alpha": "0.5", "model.layers": "[3, 4]"}
    tags = run.data.tags
    assert (tags["kedro.pipeline"], tags["team"], tags["stage"]) == ("__default__", "fixtures", "train")
    assert tags[client_ops.RUN_KEY_TAG] == RUN_KEY
    history = [(m.value, m.timestamp, m.step) for m in client.get_metric_history(run.info.run_id, "accuracy")]
    assert sorted(history, key=lambda m: m[2]) == [(0.91, 1764950001000, 0), (0.93, 1764950002000, 1)]
    (loss,) = client.get_metric_history(run.info.run_id, "loss")
    assert math.isnan(loss.value)
    (big,) = client.get_metric_history(run.info.run_id, "big")
    assert big.value > 1e308  # MLflow keeps infinity as the largest float
    artifacts = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded")))
    assert (artifacts / "reports" / "report.txt").read_text() == "accuracy 0.93\n"
    assert (artifacts / "model" / "MLmodel").read_text() == "flavors: {}\n"
    assert (artifacts / "model" / "weights.bin").read_bytes() == b"\x00\x01\x02"
