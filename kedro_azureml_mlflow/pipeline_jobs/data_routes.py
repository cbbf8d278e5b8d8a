"""What crosses from one step to another, and how, with no catalog edits.

Each step has one ``uri_folder`` output, ``data``; a step that reads from another gets that folder
as an input. Inside it:

- ``file``: a dataset the catalog keeps at a local path (CSV, parquet, pickle, versioned or not,
  dataset factories) lives at its project-relative path, so both steps keep its type and options,
  only re-rooted, and ``download`` puts it back where a local run would;
- ``memory``: a MemoryDataset (or any dataset without a catalog entry) is cloudpickled to
  ``memory/<name>.pickle`` by the producer and read back by the consumer;
- ``remote``: ``abfs://``, ``s3://``, ``azureml:`` data, SQL…: not moved, the edge only orders the steps.

A local-path dataset no later step reads (a pipeline output, or a model only its own step reads)
also goes to its step's ``data`` folder, which is then an output of the pipeline, kept in the
datastore: a step's container keeps nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from kedro_azureml_mlflow.bundle.data_check import catalog_resolver, inside_project, local_path
from kedro_azureml_mlflow.pipeline_jobs.grouping import Group

RouteKind = Literal["file", "memory", "remote"]
MEMORY_FOLDER = "memory"
OUTSIDE_FOLDER = "outside_project"


@dataclass(frozen=True)
class Route:
    """One dataset written by a step and read by others (or kept as a pipeline output)."""

    dataset: str
    kind: RouteKind
    producer: str
    consumers: tuple[str, ...]
    relative_path: str  # inside the producer's data folder; empty for remote

    @property
    def moved(self) -> bool:
        return self.kind != "remote"


def data_routes(project_path: Path, catalog: Mapping[str, Any], pipeline: Any, groups: list[Group]) -> list[Route]:
    """Every dataset that crosses between steps, and every local-path dataset a step writes, with its kind."""
    group_of = {node: group.name for group in groups for node in group.nodes}
    resolver = catalog_resolver(catalog)
    routes = []
    for node in pipeline.nodes:
        for dataset in node.outputs:
            readers = sorted(
                {group_of[n.name] for n in pipeline.only_nodes_with_inputs(dataset).nodes} - {group_of[node.name]}
            )
            kind, relative = classify(project_path, dataset, resolver.resolve_pattern(dataset))
            if readers or kind == "file":
                routes.append(Route(dataset, kind, group_of[node.name], tuple(readers), relative))
    return routes


def classify(project_path: Path, dataset: str, config: Mapping[str, Any]) -> tuple[RouteKind, str]:
    """How a dataset moves between steps, and where it sits in its producer's folder."""
    if str(config.get("type", "")).split(".")[-1] == "MemoryDataset":
        return "memory", f"{MEMORY_FOLDER}/{dataset}.pickle"
    path = local_path(config)
    if path is None:
        return "remote", ""
    relative = inside_project(project_path, path)
    return "file", str(relative) if relative is not None else f"{OUTSIDE_FOLDER}/{PurePosixPath(path).name}"
