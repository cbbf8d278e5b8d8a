"""Which nodes run together as one step, and in which order the steps run.

``namespace`` is Kedro's own ``Pipeline.group_nodes_by("namespace")`` (top-level namespace; a node
without one is a step of its own), ``node`` one step per node, ``tag`` the nodes' ``step.<name>``
tags. Kedro does not check that the grouped graph is acyclic; a pipeline job must be, so a cycle is
an error before anything is uploaded, naming the steps and the dataset that closes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kedro_azureml_mlflow.core.errors import PluginError

SplitBy = Literal["none", "namespace", "node", "tag"]
SPLIT_CHOICES: tuple[str, ...] = ("none", "namespace", "node", "tag")
# Kedro refuses `:` in a tag (letters, digits, `-`, `_`, `.` only), so the issue's `step:<name>` is `step.<name>`.
STEP_TAG_PREFIX = "step."


@dataclass(frozen=True)
class Group:
    """One step's nodes (Kedro names, in the pipeline's order) and the groups it waits for."""

    name: str
    nodes: tuple[str, ...]
    after: tuple[str, ...]


def group_nodes(pipeline: Any, split_by: SplitBy) -> list[Group]:
    """The pipeline's nodes as steps, in an order where each step comes after those it reads from."""
    if split_by == "none":
        raise ValueError("split_by 'none' is a single command job, not a pipeline job")
    members = _members(pipeline, split_by)
    by_name = {node.name: node for node in pipeline.nodes}
    producers = {out: group for group, nodes in members.items() for node in nodes for out in by_name[node].outputs}
    reads: dict[str, dict[str, str]] = {name: {} for name in members}  # group -> producer group -> first dataset
    for group, nodes in members.items():
        for node in nodes:
            for dataset in by_name[node].inputs:
                producer = producers.get(dataset)
                if producer is not None and producer != group:
                    reads[group].setdefault(producer, dataset)
    order = _topological(reads, split_by)
    return [Group(name, tuple(members[name]), tuple(sorted(reads[name]))) for name in order]


def _members(pipeline: Any, split_by: SplitBy) -> dict[str, list[str]]:
    if split_by == "namespace":
        return {group.name: list(group.nodes) for group in pipeline.group_nodes_by("namespace")}
    if split_by == "node":
        return {node.name: [node.name] for node in pipeline.nodes}
    members: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        members.setdefault(_step_tag(node), []).append(node.name)
    return members


def _step_tag(node: Any) -> str:
    steps: list[str] = sorted(
        str(tag).removeprefix(STEP_TAG_PREFIX) for tag in node.tags if tag.startswith(STEP_TAG_PREFIX)
    )
    if len(steps) > 1:
        raise PluginError(
            f"node `{node.name}` has {len(steps)} step tags ({', '.join(STEP_TAG_PREFIX + s for s in steps)}); "
            "--split-by tag expects at most one step.<name> tag per node"
        )
    return steps[0] if steps else str(node.name)


def _topological(reads: Mapping[str, Mapping[str, str]], split_by: str) -> list[str]:
    """Steps in dependency order (ties in the pipeline's order); a cycle is one error line."""
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" | "done"

    def visit(group: str, path: list[str]) -> None:
        if state.get(group) == "done":
            return
        if state.get(group) == "visiting":
            raise PluginError(_cycle_message([*path[path.index(group) :], group], reads, split_by))
        state[group] = "visiting"
        for producer in reads[group]:
            visit(producer, [*path, group])
        state[group] = "done"
        order.append(group)

    for group in reads:
        visit(group, [])
    return order


def _cycle_message(cycle: list[str], reads: Mapping[str, Mapping[str, str]], split_by: str) -> str:
    """``cycle`` lists consumers: each one reads from the next (the last is the first again)."""
    chain = " -> ".join(reversed(cycle))
    closing_consumer, closing_producer = cycle[0], cycle[1]
    dataset = reads[closing_consumer][closing_producer]
    return (
        f"--split-by {split_by} makes a cycle between steps {chain}: dataset `{dataset}` (written by step "
        f"`{closing_producer}`, read by step `{closing_consumer}`) closes it; group these nodes differently "
        "(nothing was uploaded)"
    )
