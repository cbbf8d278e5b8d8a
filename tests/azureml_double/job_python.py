"""A job's own interpreter, made from its environment's conda file as Azure ML's image build would make it.

Azure ML builds an image in which exactly the conda file's packages, and what they depend on, are installed;
a job whose code imports anything else dies of ``ModuleNotFoundError``. The double does the same without a
package index: a fresh venv of the double's base interpreter (``python -m venv``, no site packages) gets the
distributions the conda file lists and their dependency closure (each one's ``Requires-Dist``, with extras and
markers), taken from what is installed in the test venv, linked into the venv's ``site-packages`` (with its
console scripts written for the venv's interpreter). Nothing else of the test venv is visible, and this plugin
only when the job itself installs it (the wheel shipped in its snapshot).

An environment the double cannot make is a build failure, as on Azure, naming why: a Python other than the
double's ``major.minor``, a package the test venv does not have, or a version of it the test venv does not have
(the double installs nothing from an index). The resolved closure is cached by the conda file's hash for the
double's lifetime; each job gets its own venv (a job may ``pip install`` into it, as into its container).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import threading
import venv
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# Conda packages every environment's solver provides by itself (the interpreter and its C runtime), not Python ones.
CONDA_ONLY = {"python", "libgcc", "libgcc-ng", "libstdcxx-ng", "openssl", "ca-certificates", "tzdata", "openmpi"}
_CONDA_SPEC = re.compile(r"^(?:[\w.-]+::)?([A-Za-z0-9_.-]+)\s*(.*)$")


class EnvironmentBuildError(Exception):
    """What Azure ML would report as a failed image build: the job fails before it starts."""


@dataclass(frozen=True)
class JobPython:
    """How to make one environment's interpreter: which installed entries to link, which scripts to write."""

    links: tuple[tuple[str, str], ...]  # (path inside site-packages, the test venv's real path)
    scripts: tuple[tuple[str, str, str], ...]  # (name, module, attribute) of each console script

    def create(self, dest: Path) -> Path:
        """A venv at ``dest`` holding exactly this environment; its ``bin`` folder."""
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(dest)
        site = dest / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        for inside, real in self.links:
            target = site / inside
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(real, target_is_directory=Path(real).is_dir())
        python = dest / "bin" / "python"
        for name, module, attribute in self.scripts:
            script = dest / "bin" / name
            first = attribute.split(".")[0]  # ``module:Class.method`` imports Class, as pip's scripts do
            script.write_text(_SCRIPT.format(python=python, module=module, first=first, attribute=attribute))
            script.chmod(0o755)
        return dest / "bin"


_SCRIPT = """#!{python}
import sys
from {module} import {first}
if __name__ == "__main__":
    sys.exit({attribute}())
"""
_lock = threading.Lock()
_plans: dict[str, JobPython] = {}


def job_python(conda: dict[str, Any]) -> JobPython:
    """The plan for a conda file (a mapping), resolved once per distinct file."""
    key = hashlib.sha256(json.dumps(conda, sort_keys=True).encode()).hexdigest()
    with _lock:
        if key not in _plans:
            _plans[key] = _plan(requirements_of(conda))
        return _plans[key]


def requirements_of(conda: dict[str, Any]) -> list[Requirement]:
    """The conda file's Python packages as pip requirements (its conda specs and its ``pip:`` list)."""
    if not isinstance(conda.get("dependencies"), list):
        raise EnvironmentBuildError("conda file: dependencies: expected a list")
    requirements: list[Requirement] = []
    for dep in conda["dependencies"]:
        if isinstance(dep, dict):
            requirements += [_pip_requirement(str(line)) for line in dep.get("pip") or []]
            continue
        name, spec = _CONDA_SPEC.match(str(dep).strip()).groups()  # the pattern matches any text
        if name == "python":
            _check_python(spec)
        if name.lower() not in CONDA_ONLY:
            requirements.append(_pip_requirement(name + _pip_specifier(spec)))
    return requirements


def _check_python(spec: str) -> None:
    wanted = spec.lstrip("=").strip()
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted and not (wanted == ours or wanted.startswith(ours + ".")):
        raise EnvironmentBuildError(f"python={wanted}: the Azure ML double has only Python {ours}")


def _pip_specifier(conda_spec: str) -> str:
    """Conda's ``=1.2`` (any 1.2.x) as pip's ``==1.2.*``; other operators are the same in both."""
    spec = conda_spec.strip()
    if spec.startswith("=") and not spec.startswith("=="):
        version = spec[1:].rstrip("*").rstrip(".")
        return f"=={version}.*"
    return spec


def _pip_requirement(line: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement:
        raise EnvironmentBuildError(
            f"pip requirement '{line}': an image build cannot install it (a local path, an option or a typo)"
        ) from None


def _plan(requirements: list[Requirement]) -> JobPython:
    chosen = _closure(requirements)
    links: list[tuple[str, str]] = []
    _collect_links([(name, path) for name, paths in _recorded().items() for path in paths], 0, set(chosen), links)
    scripts = [
        (ep.name, ep.module, ep.attr)
        for name in sorted(chosen)
        for ep in _installed()[name].entry_points
        if ep.group == "console_scripts" and ep.attr
    ]
    return JobPython(tuple(links), tuple(scripts))


def _closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Every distribution the requirements install, with extras and markers evaluated as pip would."""
    installed = _installed()
    chosen: dict[str, metadata.Distribution] = {}
    pending = [(req, "") for req in requirements]
    seen: set[tuple[str, str]] = set()
    while pending:
        req, extra = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        dist = installed.get(name)
        if dist is None:
            raise EnvironmentBuildError(f"pip: no matching distribution for '{req}' (not in the double's test venv)")
        if not req.specifier.contains(dist.version, prereleases=True):
            raise EnvironmentBuildError(f"pip: no version of {name} matches '{req}' (the double has {dist.version})")
        chosen[name] = dist
        for wanted_extra in ["", *sorted(req.extras)]:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            pending += [(Requirement(line), wanted_extra) for line in dist.requires or []]
    return chosen


@cache
def _installed() -> dict[str, metadata.Distribution]:
    """The test venv's distributions, by canonical name (the first one found on sys.path wins, as for import)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return found


@cache
def _recorded() -> dict[str, list[tuple[str, ...]]]:
    """Each distribution's files inside site-packages, as path parts (its ``RECORD``; scripts in ``bin`` left out)."""
    recorded: dict[str, list[tuple[str, ...]]] = {}
    for name, dist in _installed().items():
        rows = csv.reader((dist.read_text("RECORD") or "").splitlines())
        recorded[name] = [tuple(row[0].split("/")) for row in rows if row and not row[0].startswith("../")]
    return recorded


def _collect_links(
    files: list[tuple[str, tuple[str, ...]]], depth: int, chosen: set[str], links: list[tuple[str, str]]
) -> None:
    """Link each entry owned only by chosen distributions whole; go into folders shared with others (namespace
    packages); a file several distributions install alike (a pkgutil namespace ``__init__.py``) is linked."""
    by_entry: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}
    for name, parts in files:
        if len(parts) > depth:
            by_entry.setdefault(parts[: depth + 1], []).append((name, parts))
    for entry, entry_files in sorted(by_entry.items()):
        owners = {name for name, _ in entry_files}
        deeper = [(name, parts) for name, parts in entry_files if len(parts) > depth + 1]
        if owners <= chosen or (owners & chosen and not deeper):
            owner = min(owners & chosen)
            links.append(("/".join(entry), str(_installed()[owner].locate_file("/".join(entry)))))
        elif owners & chosen:
            _collect_links(deeper, depth + 1, chosen, links)
