"""Keep credentials out of the job's code snapshot, by name and by content.

By name: files that hold secrets (every credentials source Kedro's config loader reads, in any
conf environment, and the usual secret files of tools) are left out whatever an ignore file says.
By content: every value of every credentials source of the project is collected, and a snapshot
file that contains one is refused, so a token pasted into a notebook or a parameters file never
leaves the machine either.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from kedro_azureml_mlflow.core.errors import PluginError

# Gitignore syntax, matched anywhere in the project.
SECRET_FILES = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.pfx",
    "*.p12",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials*.yml",
    "credentials*.yaml",
    "credentials*.json",
    "secrets.*",
    ".aws/",
    ".azure/",
    ".ssh/",
    ".kube/",
    ".docker/config.json",
    ".netrc",
    "_netrc",
    ".pypirc",
    ".git-credentials",
    # The plugin's own state: journals hold params and tracking URIs.
    ".kedro_azureml_mlflow/",
)

# OmegaConfigLoader's default ``config_patterns["credentials"]``, relative to a conf environment.
KEDRO_CREDENTIALS_PATTERNS = ("credentials*", "credentials*/**", "**/credentials*")
CONFIG_SUFFIXES = (".yml", ".yaml", ".json")

# Shorter values (ports, user names like "admin", booleans) would match everywhere.
MIN_SECRET_LENGTH = 8
SCAN_CHUNK = 4 << 20
_ENV_REFERENCE = re.compile(r"^\$\{oc\.env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,[^}]*)?\}$")


@dataclass(frozen=True)
class SecretValue:
    """One credentials value and where it was found (the value itself is never printed)."""

    value: bytes
    source: str
    key: str


def credentials_rules(conf_source: str, patterns: Iterable[str] = KEDRO_CREDENTIALS_PATTERNS) -> list[str]:
    """Gitignore rules for the config loader's credentials sources, in every conf environment."""
    conf = conf_source.strip("/")
    return [f"/{conf}/*/{pattern.lstrip('/')}" for pattern in patterns]


def secret_rules(conf_source: str, patterns: Iterable[str] = KEDRO_CREDENTIALS_PATTERNS) -> list[str]:
    """Every rule that keeps a secret file out of the snapshot."""
    return [*SECRET_FILES, *credentials_rules(conf_source, patterns)]


def credential_values(
    project_path: Path, conf_source: str, patterns: Iterable[str] = KEDRO_CREDENTIALS_PATTERNS
) -> list[SecretValue]:
    """Every string value (of at least ``MIN_SECRET_LENGTH`` characters) of every credentials
    source of every conf environment; ``${oc.env:NAME}`` counts as the variable's value."""
    from dulwich.ignore import IgnoreFilter

    conf = project_path / conf_source
    if not conf.is_dir():
        return []
    matcher = IgnoreFilter(f"/{pattern.lstrip('/')}".encode() for pattern in patterns)
    found: dict[bytes, SecretValue] = {}
    for env_dir in sorted(p for p in conf.iterdir() if p.is_dir()):
        for path in _matching_files(env_dir, matcher):
            source = path.relative_to(project_path).as_posix()
            for key, value in _string_leaves(_load_config(path, source)):
                secret = _secret_text(value)
                if secret is not None and len(secret) >= MIN_SECRET_LENGTH:
                    found.setdefault(secret.encode(), SecretValue(secret.encode(), source, key))
    return list(found.values())


def check_no_secrets(files: Iterable[tuple[PurePosixPath, Path]], secrets: list[SecretValue]) -> None:
    """Refuse (one line naming the file) when a file to upload holds a credentials value."""
    if not secrets:
        return
    for name, path in files:
        leaked = _first_secret_in(path, secrets)
        if leaked is not None:
            raise PluginError(
                f"{name}: holds the value of '{leaked.key}' from {leaked.source}; it is not uploaded. "
                "Read the value from credentials in your code, or leave the file out with .amlignore"
            )


def check_no_secrets_in_text(name: str, text: str, secrets: list[SecretValue]) -> None:
    """The same check for a generated file (``MLproject`` holds the submitted ``--params``)."""
    data = text.encode()
    for secret in secrets:
        if secret.value in data:
            raise PluginError(
                f"{name}: would hold the value of '{secret.key}' from {secret.source}; nothing was uploaded. "
                "Do not pass credentials in --params: read them from credentials in your code"
            )


def _matching_files(env_dir: Path, matcher: Any) -> Iterator[Path]:
    for folder, dirnames, filenames in os.walk(env_dir):
        dirnames.sort()
        rel_folder = Path(folder).relative_to(env_dir).as_posix()
        prefix = "" if rel_folder == "." else f"{rel_folder}/"
        for name in sorted(filenames):
            if name.endswith(CONFIG_SUFFIXES) and matcher.is_ignored(f"{prefix}{name}"):
                yield Path(folder) / name


def _load_config(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PluginError(
            f"{source}: cannot read this credentials file ({reason}); nothing is uploaded before it can be "
            "checked that no file of the snapshot holds one of its values"
        ) from None


def _string_leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _string_leaves(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _string_leaves(value, f"{prefix}{index}.")
    elif isinstance(data, str):
        yield prefix.rstrip("."), data


def _secret_text(value: str) -> str | None:
    """The secret a value stands for: itself, or the environment variable it refers to."""
    reference = _ENV_REFERENCE.match(value.strip())
    if reference:
        return os.environ.get(reference.group(1))
    return None if "${" in value else value


def _first_secret_in(path: Path, secrets: list[SecretValue]) -> SecretValue | None:
    """Read ``path`` once, in chunks that stay in the CPU cache while every value is looked for;
    chunks overlap by the longest value, so none is missed across a boundary."""
    overlap = max(len(secret.value) for secret in secrets) - 1
    buffer = bytearray(SCAN_CHUNK + overlap)
    view = memoryview(buffer)
    kept = 0
    try:
        with path.open("rb", buffering=0) as handle:
            while read := handle.readinto(view[kept : kept + SCAN_CHUNK]):
                end = kept + read
                found = next((secret for secret in secrets if buffer.find(secret.value, 0, end) != -1), None)
                if found is not None:
                    return found
                kept = min(overlap, end)
                buffer[:kept] = buffer[end - kept : end]
    except OSError as exc:
        raise PluginError(f"{path}: cannot read it to check it holds no credentials ({exc.strerror})") from None
    return None
