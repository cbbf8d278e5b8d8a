"""The builders MLflow's plugin registries load for ``kedro-azureml-journal`` (``pyproject.toml``'s entry points).

MLflow loads every registered plugin whenever ``mlflow.tracking`` is imported, in any process of the
environment (a user's own script, ``mlflow ui``): this module imports nothing, and the store itself
(``journal_store``, which imports the plugin's wire format) only when node code's MLflow uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kedro_azureml_mlflow.tracking.pipeline_side.journal_store import JournalArtifactRepository, JournalStore


def tracking_store(store_uri: str | None = None, artifact_uri: str | None = None) -> JournalStore:
    from kedro_azureml_mlflow.tracking.pipeline_side.journal_store import JournalStore

    return JournalStore(store_uri, artifact_uri)  # type: ignore[abstract]  # the rest are set refusing, after the class


def artifact_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> JournalArtifactRepository:
    from kedro_azureml_mlflow.tracking.pipeline_side.journal_store import JournalArtifactRepository

    return JournalArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
