"""How the job gets exactly the plugin version that submitted it.

A release from the package index is pinned by version. An editable or local install (the
version may not exist on the index, or differ from it) is built into a wheel (cached by the hash
of its sources) that travels in the snapshot, so the job never runs other plugin code than the
submitting machine.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from kedro_azureml_mlflow.bundle.requirements import PLUGIN_NAME
from kedro_azureml_mlflow.bundle.wheel_cache import cached_wheel
from kedro_azureml_mlflow.core.errors import PluginError


@dataclass(frozen=True)
class PluginDistribution:
    """The requirement line for the job, and the wheel to ship with it (None for a release)."""

    requirement: str
    wheel: Path | None


def plugin_distribution(wheel_dir: Path) -> PluginDistribution:
    """Pin a released install, or put a wheel of a local one into ``wheel_dir``."""
    dist = metadata.distribution(PLUGIN_NAME)
    origin = dist.read_text("direct_url.json")
    if not origin:
        return PluginDistribution(f"{PLUGIN_NAME}=={dist.version}", None)
    info = json.loads(origin)
    url = info["url"]
    if url.startswith("file://"):
        local = Path(unquote(urlparse(url).path))
        wheel = _ship_wheel(local if local.suffix == ".whl" else cached_wheel(local), wheel_dir)
        return PluginDistribution(f"./{wheel_dir.name}/{wheel.name}", wheel)
    vcs = info.get("vcs_info")
    if vcs:
        return PluginDistribution(f"{PLUGIN_NAME} @ {vcs['vcs']}+{url}@{vcs['commit_id']}", None)
    return PluginDistribution(f"{PLUGIN_NAME} @ {url}", None)


def _ship_wheel(wheel: Path, wheel_dir: Path) -> Path:
    """Put ``wheel`` into ``wheel_dir`` (hard-linked where possible: it is only read from there)."""
    if not wheel.is_file():
        raise PluginError(f"The plugin was installed from {wheel}, which no longer exists; reinstall it")
    wheel_dir.mkdir(parents=True, exist_ok=True)
    target = wheel_dir / wheel.name
    try:
        os.link(wheel, target)
    except OSError:
        shutil.copy2(wheel, target)
    return target
