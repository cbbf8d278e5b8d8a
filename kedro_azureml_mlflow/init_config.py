"""The commented default ``azureml.yml``: one packaged file for ``kedro azureml init`` and the starter."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from kedro_azureml_mlflow.errors import PluginError


def default_config_text() -> str:
    """The commented default ``azureml.yml`` (also what the starter template ships)."""
    return (files("kedro_azureml_mlflow") / "azureml.default.yml").read_text()


def write_default_config(conf_dir: Path, force: bool) -> Path:
    """Write ``azureml.yml`` into ``conf_dir``; refuse to overwrite unless ``force``."""
    target = conf_dir / "azureml.yml"
    if target.exists() and not force:
        raise PluginError(f"{target} already exists; use --force to overwrite it")
    conf_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(default_config_text())
    return target
