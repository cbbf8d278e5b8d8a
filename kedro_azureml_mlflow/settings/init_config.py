"""The commented default ``azureml.yml``: one packaged file for ``kedro azureml init`` and the starter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from kedro_azureml_mlflow.core.errors import PluginError

_EXCLUDE_DATA = re.compile(r"^(  exclude_data: )true\b.*$", re.MULTILINE)
_REGISTRATION = re.compile(r"^(    registration: )true\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class LocalState:
    """Something the plugin writes into a project that must never be committed."""

    pattern: str  # the .gitignore line that ignores it
    probe: str  # a path it covers, to ask whether a .gitignore already ignores it


LOCAL_STATE = (
    LocalState("mlflow.db", "mlflow.db"),  # the embedded tracking store
    LocalState(".kedro_azureml_mlflow/", ".kedro_azureml_mlflow/journal/run.jsonl"),  # the journal folder
)


def default_config_text(upload_data: bool = False, register_models: bool = True) -> str:
    """The commented default ``azureml.yml`` (also what the starter template ships).

    ``upload_data`` is for projects whose code needs files under ``data/`` on the compute (the
    starter's example reads ``data/01_raw/iris.csv``); the plugin's own default never uploads data.
    ``register_models=False`` makes registering the example's model a choice the user makes here.
    """
    text = (files("kedro_azureml_mlflow.settings") / "azureml.default.yml").read_text()
    if upload_data:
        text = _switch(
            _EXCLUDE_DATA,
            r"\1false                # upload data/ (minus .amlignore's entries): the example reads data/01_raw",
            text,
        )
    if not register_models:
        text = _switch(
            _REGISTRATION,
            r"\1false         # true: each kedro run registers the catalog's classifier as a new model version",
            text,
        )
    return text


def _switch(line: re.Pattern[str], replacement: str, text: str) -> str:
    text, replaced = line.subn(replacement, text)
    assert replaced == 1, f"azureml.default.yml lost its line {line.pattern!r}"
    return text


def write_default_config(conf_dir: Path, force: bool) -> Path:
    """Write ``azureml.yml`` into ``conf_dir``; refuse to overwrite unless ``force``."""
    target = conf_dir / "azureml.yml"
    if target.exists() and not force:
        raise PluginError(f"{target} already exists; use --force to overwrite it")
    conf_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(default_config_text())
    return target


def ignore_local_state(project_path: Path) -> list[str]:
    """Add what the plugin writes in the project to its ``.gitignore``, unless it is ignored already.

    Returns the lines added. A pattern that already covers a path (``*.db``) counts as ignoring it.
    """
    from dulwich.ignore import IgnoreFilter

    gitignore = project_path / ".gitignore"
    text = gitignore.read_text() if gitignore.exists() else ""
    ignored = IgnoreFilter(line.encode() for line in text.splitlines())  # git's own matching rules
    missing = [state.pattern for state in LOCAL_STATE if not ignored.is_ignored(state.probe)]
    if missing:
        separator = "\n" if text and not text.endswith("\n") else ""
        block = "# kedro-azureml-mlflow: the embedded tracking store and the journal folder\n"
        gitignore.write_text(text + separator + block + "".join(f"{line}\n" for line in missing))
    return missing
