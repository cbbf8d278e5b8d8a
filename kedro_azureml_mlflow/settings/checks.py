"""Cheap up-front checks of what MLflow or Azure ML would only refuse later, mid-run.

A bad tracking URI or experiment name is a permanent error: caught here, it is a config error
before the pipeline starts instead of a journal that ``sync`` can never send. Nothing here
imports MLflow: the schemes MLflow knows are listed, and plugin stores are found through the
``mlflow.tracking_store`` entry points, as MLflow itself finds them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

MAX_EXPERIMENT_NAME = 500  # MLflow's MAX_EXPERIMENT_NAME_LENGTH
MAX_DISPLAY_NAME = 250  # a job's display name is its MLflow run's name: MLflow's runs.name column
MAX_TRACKING_URI = 2048
# The schemes MLflow's tracking store registry knows without plugins (databases take a +driver).
_DATABASES = ("postgresql", "mysql", "sqlite", "mssql")
_BUILT_IN = ("file", "http", "https", "databricks", "databricks-uc", "uc")
_BARE = ("databricks", "databricks-uc", "uc")  # MLflow takes these without "://"
# What azureml-mlflow parses out of a workspace tracking URI's path (it fails obscurely otherwise).
_AZUREML_PATH = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URI_EXAMPLES = "sqlite:///mlflow.db, http(s)://host:5000, file:///path/to/mlruns or azureml://…"


def is_database_uri(uri: str) -> bool:
    """A SQL store's URI (``sqlite:///…``, ``postgresql+psycopg2://…``): MLflow's SQL store, with its artifact root."""
    return urlsplit(uri).scheme.lower().split("+", 1)[0] in _DATABASES


@lru_cache(maxsize=1)
def plugin_schemes() -> frozenset[str]:
    """Schemes that installed packages register with MLflow (azureml-mlflow registers ``azureml``)."""
    return frozenset(ep.name for ep in entry_points(group="mlflow.tracking_store"))


def check_tracking_uri(uri: str) -> str:
    """``uri`` if MLflow can open a store for it; a ``ValueError`` saying what is wrong otherwise."""
    if len(uri) > MAX_TRACKING_URI or _CONTROL.search(uri):
        raise ValueError(f"not a tracking URI (expected one line of at most {MAX_TRACKING_URI} characters)")
    if uri in _BARE:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise ValueError(f"not a valid URI ({exc})") from None
    scheme = parts.scheme.lower()
    if not scheme or ("://" not in uri and scheme != "file"):
        raise ValueError(f"expected a URI with a scheme, such as {URI_EXAMPLES}")
    if scheme.split("+", 1)[0] in _DATABASES:
        return _check_database(uri, scheme, parts)
    if scheme in ("http", "https") and not parts.hostname:
        raise ValueError(f"{scheme}:// URI without a host")
    if scheme == "azureml":
        return _check_azureml(uri, parts)
    if scheme in _BUILT_IN or scheme in plugin_schemes():
        return uri
    known = sorted({*_DATABASES, *_BUILT_IN, *plugin_schemes()})
    raise ValueError(f"unknown scheme '{scheme}://'; MLflow here can track to: {', '.join(known)}")


def _check_database(uri: str, scheme: str, parts: SplitResult) -> str:
    if scheme.count("+") > 1:
        raise ValueError(f"database URI with more than one '+driver' in '{scheme}'")
    if not (parts.netloc or parts.path.strip("/")):
        raise ValueError(f"{scheme}:// URI without a host or database (for example sqlite:///mlflow.db)")
    database = unquote(parts.path)[1:]  # as SQLAlchemy reads it: sqlite:////abs.db is /abs.db
    if scheme.startswith("sqlite") and database and not database.endswith(":memory:"):
        folder = Path(database).parent
        if not folder.is_dir():  # MLflow would create it (and every missing parent): a typo must not
            raise ValueError(
                f"the folder {folder} of the SQLite store does not exist; create it or fix the path "
                "(sqlite:////abs/path.db is absolute, sqlite:///rel.db relative to the project)"
            )
    return uri


def _check_azureml(uri: str, parts: SplitResult) -> str:
    if not parts.hostname or not _AZUREML_PATH.search(parts.path):
        raise ValueError(
            "azureml:// URI is not a workspace's tracking URI (expected azureml://<region>.api.azureml.ms/mlflow/"
            "v1.0/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/"
            "workspaces/<name>; leave tracking_uri out to ask the workspace for it)"
        )
    return uri


def check_experiment_name(name: str) -> str:
    """``name`` if both MLflow and Azure ML can find an experiment by it later."""
    if len(name) > MAX_EXPERIMENT_NAME:
        raise ValueError(f"experiment name of {len(name)} characters; MLflow takes at most {MAX_EXPERIMENT_NAME}")
    if _CONTROL.search(name):
        raise ValueError("experiment name with a line break or control character")
    if "/" in name:
        raise ValueError(
            "experiment name with '/': Azure ML cannot find such an experiment by name again "
            "(azure-sdk-for-python#45209); use '-' or '_' instead"
        )
    return name


def check_display_name(name: str) -> str:
    """``name`` if it can be a job's display name: one line, and short enough to be the MLflow run's name.

    A job's display name becomes its MLflow run's name; MLflow's SQL stores keep a run name in a
    250-character column (``runs.name``). azure-ai-ml sets no limit of its own, and the service's
    is not documented: this is the one a run name can always have.
    """
    if _CONTROL.search(name):
        raise ValueError("a display name with a line break or control character; expected one line")
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"a display name of {len(name)} characters; expected at most {MAX_DISPLAY_NAME}")
    return name
