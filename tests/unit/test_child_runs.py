"""``tracking.child_runs``: the setting, which child run a node's records go to, the roll-up rule, and the journal
lines a child run's records are (pure parts; the runs themselves: tests/e2e/test_child_runs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kedro.pipeline import Pipeline, node

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.config_loading import validate_plugin_config
from kedro_azureml_mlflow.tracking.journal.journal import Journal, load_journal
from kedro_azureml_mlflow.tracking.plan.child_runs import STEP_ENV, child_runs_wanted, rolled_up, step_of, steps_of
from kedro_azureml_mlflow.tracking.wire.batching import Batch
from kedro_azureml_mlflow.tracking.wire.records import (
    STEP_RECORDS_VERSION,
    RunEnd,
    RunHeader,
    StepRecord,
    child_header,
    child_run_key,
    for_step,
)


def _identity(x: object) -> object:
    return x


def test_the_setting_defaults_to_one_run_and_takes_namespace() -> None:
    assert PluginConfig().tracking.child_runs == "none"
    assert PluginConfig.model_validate({"tracking": {"child_runs": "namespace"}}).tracking.child_runs == "namespace"


def test_a_bad_value_is_one_line_naming_the_file_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    base = tmp_path / "conf" / "base"
    base.mkdir(parents=True)
    (base / "azureml.yml").write_text("tracking:\n  child_runs: nodes\n")
    with pytest.raises(ConfigError) as caught:
        validate_plugin_config({"tracking": {"child_runs": "nodes"}}, [base])
    assert caught.value.message == (
        f"{base / 'azureml.yml'}: tracking.child_runs: Input should be 'none' or 'namespace' (got 'nodes')"
    )


def test_a_step_is_the_top_level_namespace_as_kedro_groups_nodes() -> None:
    pipeline = Pipeline(
        [
            node(_identity, "a", "b", name="clean", namespace="prep"),
            node(_identity, "b", "c", name="fit", namespace="train.fit"),
            node(_identity, "c", "d", name="score", namespace="train"),
            node(_identity, "d", "e", name="report"),
        ]
    )
    steps = steps_of(pipeline.nodes)
    assert steps == {"prep": ["prep.clean"], "train": ["train.fit.fit", "train.score"]}
    kedro_groups = {group.name: sorted(group.nodes) for group in pipeline.group_nodes_by("namespace")}
    assert {name: sorted(nodes) for name, nodes in steps.items()} == {
        name: nodes for name, nodes in kedro_groups.items() if name in steps
    }
    assert "report" in kedro_groups and step_of(None) is None and step_of("") is None  # no namespace: the run's


def test_a_key_the_parent_holds_is_rolled_up_as_step_dot_key_and_tagged() -> None:
    held = {"summary", "acc"}  # the parent's own node logged `acc`
    first = rolled_up({"acc": 0.9, "rows": 3.0}, held, "prep", 7)
    assert first.metrics == [("prep.acc", 0.9, 7, 0), ("rows", 3.0, 7, 0)]
    assert first.tags == [("kedro.rollup.acc", "logged by more than one step; prep's is prep.acc")]
    second = rolled_up({"rows": 4.0}, held, "train", 8)  # `rows` is the first step's now
    assert second.metrics == [("train.rows", 4.0, 8, 0)]
    assert held == {"summary", "acc", "prep.acc", "rows", "train.rows"}


def test_a_child_run_is_keyed_by_its_parent_and_step_and_tagged_with_both() -> None:
    parent = RunHeader("sqlite:///x.db", "probe", "p1", "__default__", {"kedro.env": "local"}, 5, run_key="k")
    child = child_header(parent, "p1", "prep", 9)
    assert child.run_key == child_run_key("k", "prep") != parent.run_key
    assert child.tags == {"kedro.env": "local", "mlflow.parentRunId": "p1", "kedro.step": "prep"}
    assert (child.run_id, child.run_name, child.experiment_name, child.start_time_ms) == (None, "prep", "probe", 9)
    assert for_step(None, RunEnd("FINISHED", 1)) == RunEnd("FINISHED", 1)
    assert for_step("prep", RunEnd("FINISHED", 1)) == StepRecord("prep", RunEnd("FINISHED", 1))


def test_step_records_are_journaled_in_a_journal_of_the_format_that_reads_them(tmp_path: Path) -> None:
    header = RunHeader("sqlite:///x.db", "probe", None, "run", {}, 5)
    journal = Journal(tmp_path, header, STEP_RECORDS_VERSION)
    journal.write(Batch(metrics=[("summary", 1.5, 6, 0)]))
    journal.write(StepRecord("prep", Batch(metrics=[("rows", 3.0, 6, 0)])))
    journal.write(StepRecord("prep", RunEnd("FAILED", 7)))
    journal.close()

    head, *lines = journal.path.read_text().splitlines()
    assert json.loads(head)["version"] == STEP_RECORDS_VERSION  # an older plugin sets it aside, never misreads it
    assert json.loads(lines[1]) == {
        "step": "prep",
        "record": {"metrics": [["rows", 3.0, 6, 0]], "params": [], "tags": []},
    }
    contents = load_journal(journal.path)
    assert contents.version == STEP_RECORDS_VERSION and contents.unreadable == []
    assert [record for _, record in contents.records][1:] == [
        StepRecord("prep", Batch(metrics=[("rows", 3.0, 6, 0)])),
        StepRecord("prep", RunEnd("FAILED", 7)),
    ]


def test_without_child_runs_a_journal_is_written_as_before(tmp_path: Path) -> None:
    journal = Journal(tmp_path, RunHeader("sqlite:///x.db", "probe", None, "run", {}, 5))
    journal.write(RunEnd("FINISHED", 7))
    journal.close()
    assert json.loads(journal.path.read_text().splitlines()[0])["version"] == 1


def test_inside_a_pipeline_jobs_step_there_are_no_child_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STEP_ENV, raising=False)
    assert child_runs_wanted("namespace") and not child_runs_wanted("none")
    monkeypatch.setenv(STEP_ENV, '{"step": "prep", "nodes": ["prep.clean"]}')  # as step_main sets it
    assert not child_runs_wanted("namespace")
