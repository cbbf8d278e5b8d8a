"""The plugin's view of a Kedro project: where it is, its conf folders, its ``azureml.yml``.

Hooks get the config loader from the Kedro context; CLI commands run outside a session and
build the same loader from the project's settings, so both read identical configuration.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.config_loading import load_plugin_config

# One folder name inside conf/: no separators, no leading dot (so no "..", no hidden folders).
_ENV_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class ProjectInfo:
    """What the plugin needs to know about the project it runs in."""

    path: Path
    package_name: str
    env: str
    conf_dirs: tuple[Path, ...]

    @property
    def config_file(self) -> str:
        """How to name the project's ``azureml.yml`` in messages."""
        return " / ".join(str(d / "azureml.yml") for d in self.conf_dirs)


def conf_dirs_of(config_loader: Any, conf_source: Path, env: str | None) -> tuple[tuple[Path, ...], str]:
    """The base and run-env conf folders the loader reads, and the run env's name."""
    base_env = getattr(config_loader, "base_env", None) or "base"
    run_env = env or getattr(config_loader, "default_run_env", None) or "local"
    dirs = [conf_source / base_env]
    if run_env != base_env:
        dirs.append(conf_source / run_env)
    return tuple(dirs), run_env


def config_loader(project_path: Path, env: str | None, runtime_params: dict[str, Any] | None = None) -> Any:
    """The project's configured config loader for ``env``, as ``kedro run --env --params`` builds it."""
    from kedro.framework.project import settings

    conf_source = project_path / settings.CONF_SOURCE
    return settings.CONFIG_LOADER_CLASS(
        conf_source=str(conf_source), env=env, runtime_params=runtime_params, **settings.CONFIG_LOADER_ARGS
    )


def load_project(project_path: Path, package_name: str, env: str | None) -> tuple[ProjectInfo, PluginConfig]:
    """Read ``azureml.yml`` for a CLI command, through the project's configured loader."""
    from kedro.framework.project import settings

    conf_source = project_path / settings.CONF_SOURCE
    loader = config_loader(project_path, env)
    dirs, run_env = conf_dirs_of(loader, conf_source, env)
    info = ProjectInfo(project_path, package_name, run_env, dirs)
    return info, load_plugin_config(loader, list(dirs))


def conf_environments(conf_source: Path) -> list[str]:
    """The conf environments a project has: the folders of its conf source."""
    if not conf_source.is_dir():
        return []
    return sorted(p.name for p in conf_source.iterdir() if p.is_dir() and _ENV_NAME.fullmatch(p.name))


def check_env(conf_source: Path, env: str, may_create: bool = False) -> Path:
    """The folder of conf environment ``env``: an existing one (or, if ``may_create``, a new one
    directly inside ``conf_source``); never a path that leads elsewhere."""
    known = conf_environments(conf_source)
    folder = conf_source / env
    if _ENV_NAME.fullmatch(env) is None or conf_source.resolve() != folder.resolve().parent:
        raise PluginError(
            f"--env {quoted(env)} is not a conf environment name: expected one folder name inside "
            f"{conf_source} (letters, digits, '_', '-', '.'), such as {', '.join(known) or 'base'}"
        )
    if may_create or env in known or not conf_source.is_dir():  # an archived conf cannot be listed
        return folder
    close = difflib.get_close_matches(env, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"existing: {', '.join(known) or '(none)'}"
    raise PluginError(f"--env {quoted(env)}: no such conf environment in {conf_source}; {hint}")
