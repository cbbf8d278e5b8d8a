"""Registers the ``azureml-mlflow`` Kedro starter (``kedro new --starter=azureml-mlflow``)."""

from __future__ import annotations

from pathlib import Path

from kedro.framework.cli.starters import KedroStarterSpec


def template_path() -> Path:
    """The cookiecutter template: inside the wheel, or at the repository root in a checkout."""
    package_dir = Path(__file__).resolve().parent
    shipped = package_dir / "template"
    return shipped if shipped.is_dir() else package_dir.parent / "template"


starters = [KedroStarterSpec(alias="azureml-mlflow", template_path=str(template_path()))]
