"""The plugin's wheel, built once per state of its sources.

An editable install ships a wheel of the plugin with every job; building it takes seconds, so
it is kept in the user's cache under the hash of the source files (the files a checkout would
commit: its ``.gitignore`` and the snapshot's fixed rules apply) and rebuilt only when they change.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kedro_azureml_mlflow.bundle.snapshot import select_files
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.core.user_cache import cache_root

WHEEL_GLOB = "kedro_azureml_mlflow-*.whl"


def sources_hash(source: Path) -> str:
    """SHA-256 over the path and content of every source file (data/ included, local state not)."""
    digest = hashlib.sha256()
    for file in select_files(source, exclude_data=False):
        digest.update(f"{file.path}\0{file.size}\0".encode())
        with (source / file.path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cached_wheel(source: Path) -> Path:
    """The wheel of ``source`` for its current sources: from the cache, else built into it."""
    if not (source / "pyproject.toml").is_file():
        raise PluginError(f"{source}: the plugin is installed from here but it has no pyproject.toml to build from")
    entry = cache_root() / "wheels" / sources_hash(source)
    found = sorted(entry.glob(WHEEL_GLOB))
    if found:
        return found[-1]
    entry.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=entry.parent))
    try:
        build_wheel(source, building)
        with contextlib.suppress(OSError):  # a concurrent submit may have cached the same sources first
            building.rename(entry)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    found = sorted(entry.glob(WHEEL_GLOB))
    if not found:
        raise PluginError(f"{entry}: the plugin wheel cache holds no wheel; delete the folder and submit again")
    return found[-1]


def build_wheel(source: Path, wheel_dir: Path) -> Path:
    """Build the plugin's wheel from its source tree with pip (the project's own build backend)."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheel_dir), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(wheel_dir.glob(WHEEL_GLOB))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr.strip().splitlines() or ["no wheel produced"])[-1]
        raise PluginError(f"Could not build the plugin wheel from {source}: {detail}")
    return wheels[-1]
