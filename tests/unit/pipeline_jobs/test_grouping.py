"""Nodes to steps: Kedro's namespace grouping, one step per node, step.<name> tags; cycles refused."""

from __future__ import annotations

import pytest
from kedro.pipeline import node, pipeline

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.pipeline_jobs.grouping import group_nodes


def _f(*args: object) -> int:
    return 1


def spaceflights_like() -> object:
    return pipeline(
        [
            node(_f, "companies", "prep_companies", name="preprocess_companies", namespace="data_processing"),
            node(
                _f,
                ["prep_companies", "shuttles"],
                "model_input",
                name="create_model_input",
                namespace="data_processing",
            ),
            node(_f, ["model_input", "params:split"], ["x", "y"], name="split", namespace="data_science"),
            node(_f, "x", "model", name="train", namespace="data_science.training"),
            node(_f, ["model", "y"], "metrics", name="evaluate"),
        ]
    )


def test_namespace_groups_by_top_level_namespace_and_orders_steps() -> None:
    groups = group_nodes(spaceflights_like(), "namespace")
    assert [(g.name, g.nodes, g.after) for g in groups] == [
        ("data_processing", ("data_processing.preprocess_companies", "data_processing.create_model_input"), ()),
        ("data_science", ("data_science.split", "data_science.training.train"), ("data_processing",)),
        ("evaluate", ("evaluate",), ("data_science",)),
    ]


def test_node_is_one_step_per_node() -> None:
    groups = group_nodes(spaceflights_like(), "node")
    assert len(groups) == 5
    assert all(len(g.nodes) == 1 for g in groups)
    by_name = {g.name: g for g in groups}
    assert by_name["evaluate"].after == ("data_science.split", "data_science.training.train")


def test_tag_groups_by_step_tags_and_untagged_nodes_are_their_own_step() -> None:
    p = pipeline(
        [
            node(_f, "a", "b", name="n1", tags=["step.prep"]),
            node(_f, "b", "c", name="n2", tags=["step.prep", "other"]),
            node(_f, "c", "d", name="n3"),
        ]
    )
    assert [(g.name, g.nodes) for g in group_nodes(p, "tag")] == [("prep", ("n1", "n2")), ("n3", ("n3",))]


def test_two_step_tags_on_one_node_is_an_error_naming_it() -> None:
    p = pipeline([node(_f, "a", "b", name="n1", tags=["step.prep", "step.train"])])
    with pytest.raises(PluginError, match=r"node `n1` has 2 step tags \(step.prep, step.train\)"):
        group_nodes(p, "tag")


def test_a_cyclic_grouping_is_one_line_naming_groups_and_the_closing_dataset() -> None:
    p = pipeline(
        [
            node(_f, "raw", "a1", name="n1", tags=["step.one"]),
            node(_f, "a1", "b1", name="n2", tags=["step.two"]),
            node(_f, "b1", "a2", name="n3", tags=["step.one"]),
        ]
    )
    with pytest.raises(PluginError) as caught:
        group_nodes(p, "tag")
    message = str(caught.value.message)
    assert "\n" not in message
    assert "cycle between steps" in message
    assert "one" in message and "two" in message
    # Either dataset closes the cycle depending on where the walk starts; it must be one of the two edges.
    assert "dataset `a1`" in message or "dataset `b1`" in message
