"""Will the job find its inputs? The pipeline's free inputs (read by a node, written by none) that
the catalog keeps in local files must be in the snapshot, or the job fails on the compute.

The catalog is resolved as ``kedro run`` resolves it (the run env's config, dataset factories),
without creating any dataset: only each entry's ``filepath`` (or ``path``) is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kedro_azureml_mlflow.bundle.snapshot import SnapshotFile
from kedro_azureml_mlflow.io.catalog_lookup import PATH_KEYS

# Data assets (``azureml:<name>:<version>``) and ``azureml://`` URIs are read from the workspace.
CLOUD_PREFIXES = ("azureml:",)
DATA_DOCS = "docs/data.md"


@dataclass(frozen=True)
class MissingInput:
    """A free input of the pipeline whose local file the snapshot does not hold."""

    dataset: str
    path: str
    nodes: tuple[str, ...]
    hint: str

    @property
    def message(self) -> str:
        readers = f"node `{self.nodes[0]}`" + (f" and {len(self.nodes) - 1} more" if len(self.nodes) > 1 else "")
        return (
            f"`{self.dataset}` ({self.path}), read by {readers}, is not in the snapshot: {self.hint}, "
            f"or point the catalog at a datastore (see {DATA_DOCS})"
        )


def free_inputs(pipeline: Any) -> dict[str, tuple[str, ...]]:
    """Each dataset the pipeline reads and never writes, with the nodes that read it (no parameters)."""
    readers: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node.name)
    return {
        name: tuple(nodes)
        for name, nodes in sorted(readers.items())
        if name in pipeline.inputs() and not (name == "parameters" or name.startswith("params:"))
    }


def local_path(config: Mapping[str, Any]) -> str | None:
    """The local file or folder a dataset's config points to; None for remote data or no file."""
    from kedro.io.core import get_protocol_and_path

    for key in PATH_KEYS:
        value = config.get(key)
        if isinstance(value, str) and value:
            if value.startswith(CLOUD_PREFIXES):
                return None
            protocol, path = get_protocol_and_path(value)
            return path if protocol == "file" else None
    return None


def missing_inputs(
    project_path: Path,
    catalog: Mapping[str, Any],
    pipeline: Any,
    files: Iterable[SnapshotFile],
    hint: str,
) -> list[MissingInput]:
    """The pipeline's free inputs kept in local files that are not among ``files``."""
    resolver = catalog_resolver(catalog)
    shipped = {f.path for f in files}
    missing = []
    for dataset, nodes in free_inputs(pipeline).items():
        path = local_path(resolver.resolve_pattern(dataset))
        if path is None:
            continue
        rel = inside_project(project_path, path)
        if rel is None or not _shipped(rel, shipped):
            shown = str(rel) if rel is not None else path
            missing.append(
                MissingInput(dataset, shown, nodes, hint if rel is not None else "it is outside the project")
            )
    return missing


def catalog_resolver(catalog: Mapping[str, Any]) -> Any:
    """Kedro's own resolver of catalog entries and dataset factories; credentials are not needed
    for a path, so they are left out (nothing secret is read)."""
    from kedro.io.catalog_config_resolver import DEFAULT_RUNTIME_PATTERN, CatalogConfigResolver

    entries = {
        name: _without_credentials(config)
        for name, config in catalog.items()
        if not name.startswith("_") and isinstance(config, Mapping)
    }
    return CatalogConfigResolver(config=entries, default_runtime_patterns=DEFAULT_RUNTIME_PATTERN)


def _without_credentials(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_credentials(value) if isinstance(value, Mapping) else value
        for key, value in config.items()
        if key != "credentials"
    }


def inside_project(project_path: Path, path: str) -> PurePosixPath | None:
    """``path`` relative to the project (Kedro resolves relative paths from there), None outside it."""
    candidate = Path(path) if os.path.isabs(path) else project_path / path
    try:
        return PurePosixPath(Path(os.path.normpath(candidate)).relative_to(project_path).as_posix())
    except ValueError:
        return None


def _shipped(rel: PurePosixPath, shipped: set[PurePosixPath]) -> bool:
    """A file in the snapshot, or a folder (partitions, versions) with something of it there."""
    return rel in shipped or any(rel in file.parents for file in shipped)
