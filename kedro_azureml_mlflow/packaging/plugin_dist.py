"""How the job gets exactly the plugin version that submitted it.

A release from the package index is pinned by version. An editable or local install (the
version may not exist on the index, or differ from it) is built into a wheel that travels in the
snapshot, so the job never runs other plugin code than the submitting machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from kedro_azureml_mlflow.errors import PluginError
from kedro_azureml_mlflow.packaging.requirements import PLUGIN_NAME


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
        wheel = _copy_wheel(local, wheel_dir) if local.suffix == ".whl" else build_wheel(local, wheel_dir)
        return PluginDistribution(f"./{wheel_dir.name}/{wheel.name}", wheel)
    vcs = info.get("vcs_info")
    if vcs:
        return PluginDistribution(f"{PLUGIN_NAME} @ {vcs['vcs']}+{url}@{vcs['commit_id']}", None)
    return PluginDistribution(f"{PLUGIN_NAME} @ {url}", None)


def build_wheel(source: Path, wheel_dir: Path) -> Path:
    """Build the plugin's wheel from its source tree with pip (the project's own build backend)."""
    if not (source / "pyproject.toml").is_file():
        raise PluginError(f"{source}: the plugin is installed from here but it has no pyproject.toml to build from")
    wheel_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheel_dir), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(wheel_dir.glob("kedro_azureml_mlflow-*.whl"))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr.strip().splitlines() or ["no wheel produced"])[-1]
        raise PluginError(f"Could not build the plugin wheel from {source}: {detail}")
    return wheels[-1]


def _copy_wheel(wheel: Path, wheel_dir: Path) -> Path:
    if not wheel.is_file():
        raise PluginError(f"The plugin was installed from {wheel}, which no longer exists; reinstall it")
    wheel_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(wheel, wheel_dir / wheel.name))
