"""The wire format: what crosses between processes is one of its classes, and what does not fit is refused
at the boundary with one line naming where and what was expected."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kedro_azureml_mlflow.tracking.journal.journal import load_journal
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.protocol import (
    DeletedExperiment,
    EndRun,
    ExperimentAnswer,
    HandRecord,
    Settled,
    TargetAnswer,
    to_agent,
    to_pipeline,
)
from kedro_azureml_mlflow.tracking.wire.records import (
    JOURNAL_VERSION,
    ArtifactRecord,
    ArtifactUpload,
    InvalidRecord,
    RunEnd,
    StepRecord,
    parse_record,
    to_wire,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "journal_v1" / "run.jsonl"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"colour": "red"}, "a record has metrics/params/tags, an artifact, an end, or a step"),
        (
            {"metrics": [["loss", "low", 1, 0]]},
            "metrics.0.1: Input should be a valid number, unable to parse string as a number",
        ),
        ({"metrics": [["loss", 0.5, 1]]}, "metrics.0.3: Field required"),
        ({"params": [["alpha", "1"]], "extra": 1}, "extra: Unexpected keyword argument"),
        ({"artifact": {"local_path": "a.txt", "owner": "me"}}, "artifact.owner: Unexpected keyword argument"),
        ({"end": "FINISHED"}, "end_time_ms: Field required"),
        ([1, 2], "a record has metrics/params/tags, an artifact, an end, or a step"),
        ({"step": "prep"}, "record: Field required"),
        (
            {"step": "prep", "record": {"end": "FINISHED", "end_time_ms": 1}, "run": "x"},
            "run: Unexpected keyword argument",
        ),
        (  # a child run has no children: a step record holds a record of the run's own kinds only
            {"step": "prep", "record": {"step": "inner", "record": {"end": "FINISHED", "end_time_ms": 1}}},
            "record: a record has metrics/params/tags, an artifact, or an end",
        ),
    ],
)
def test_a_record_that_does_not_fit_is_refused_naming_what(data: object, says: str) -> None:
    with pytest.raises(InvalidRecord) as refused:
        parse_record(data)
    assert str(refused.value) == f"not a record: {says}"
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"  # never retried: sync sets it aside


def test_every_record_kind_survives_the_wire_nan_and_infinity_included() -> None:
    records = [
        Batch(metrics=[("loss", math.inf, 1, 0)], params=[("alpha", "0.1")], tags=[("team", "a")]),
        ArtifactUpload(ArtifactRecord("/tmp/report.txt", "reports", owned=True, register_as=None, label="report")),
        RunEnd("FINISHED", 1_700_000_000_000),
        StepRecord("prep", Batch(metrics=[("rows", 3.0, 1, 0)])),
        StepRecord("prep", ArtifactUpload(ArtifactRecord("/tmp/chart.json", owned=True))),
        StepRecord("prep", RunEnd("FAILED", 1_700_000_000_001)),
    ]
    for record in records:
        assert parse_record(json.loads(json.dumps(to_wire(record)))) == record
    nan = parse_record(json.loads(json.dumps(to_wire(Batch(metrics=[("m", math.nan, 1, 0)])))))
    assert isinstance(nan, Batch) and math.isnan(nan.metrics[0][1])


def test_todays_records_are_written_byte_for_byte_as_the_first_format_wrote_them() -> None:
    """Old readers (and old journals) see the same lines: only the header line gained a version."""
    head, *lines = FIXTURE.read_text().splitlines()
    for line in lines:
        assert json.dumps(to_wire(parse_record(json.loads(line)))) == line
    assert "version" not in json.loads(head)  # a journal without a version is version 1


def test_a_journal_of_a_newer_format_is_not_read_as_this_one(tmp_path: Path) -> None:
    path = tmp_path / "newer.jsonl"
    head = {"header": None, "reasons": [], "version": JOURNAL_VERSION + 1}
    path.write_text(json.dumps(head) + "\n" + json.dumps({"end": "FINISHED", "end_time_ms": 1}) + "\n")
    contents = load_journal(path)
    assert contents.header is None
    [(number, _, why)] = contents.unreadable
    assert number == 1 and f"journal format version {JOURNAL_VERSION + 1}" in why


def test_a_damaged_line_is_kept_with_the_reason_it_cannot_be_sent(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl"
    path.write_text(FIXTURE.read_text().splitlines()[0] + "\n" + json.dumps({"metrics": [["a", None, 1, 0]]}) + "\n")
    [(number, line, why)] = load_journal(path).unreadable
    assert (number, json.loads(line)) == (2, {"metrics": [["a", None, 1, 0]]})
    assert why == "line 2: not a record: metrics.0.1: Input should be a valid number"


def test_messages_are_told_apart_by_op_and_refused_when_they_do_not_fit() -> None:
    message = to_agent({"op": "record", "seq": 3, "record": {"end": "FAILED", "end_time_ms": 5}})
    assert message == HandRecord(RunEnd("FAILED", 5), 3)
    assert to_agent(to_wire(EndRun(None, 7))) == EndRun(None, 7)
    assert to_pipeline({"op": "settled", "seq": 2, "run_id": "r"}) == Settled(2, "r")
    with pytest.raises(ValueError) as refused:
        to_agent({"op": "record", "record": {"end": "FAILED"}})
    assert str(refused.value) == "not a message for the agent: record.end_time_ms: Field required"
    with pytest.raises(ValueError, match="does not match any of the expected tags"):
        to_agent({"op": "shutdown"})


def test_the_warm_agents_answers_cross_the_wire_typed() -> None:
    """What a warm agent says before the pipeline runs: that it is warm, and a deleted experiment's facts."""
    deleted = ExperimentAnswer(DeletedExperiment("iris", "7", "http://user@host/"))
    sent = json.loads(json.dumps(to_wire(deleted)))
    assert sent == {
        "op": "experiment",
        "deleted": {"name": "iris", "experiment_id": "7", "tracking_uri": "http://user@host/"},
        "restoring": None,
    }
    assert to_pipeline(sent) == deleted
    assert to_pipeline({"op": "experiment", "restoring": "iris"}) == ExperimentAnswer(restoring="iris")
    assert to_pipeline({"op": "target", "tracking_uri": "sqlite:///m.db", "warm": True}).warm is True  # type: ignore[union-attr]
    assert to_pipeline({"op": "target"}) == TargetAnswer()
    with pytest.raises(ValueError) as refused:
        to_pipeline({"op": "experiment", "deleted": {"name": "iris"}})
    assert str(refused.value) == "not a message from the agent: deleted.experiment_id: Field required"
