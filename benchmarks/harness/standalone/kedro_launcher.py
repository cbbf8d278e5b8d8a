"""Run Kedro's CLI, optionally as if some distributions were not installed.

Run as a script (``python kedro_launcher.py run …``) by any interpreter that has Kedro, including
kedro-mlflow's venv: it imports nothing but the standard library and Kedro. ``BENCH_HIDE_DISTS`` is a
comma-separated list of distribution names to hide from ``importlib.metadata.entry_points()`` (which
Kedro's CLI reads) and ``distributions()`` (which pluggy reads for ``kedro.hooks``).
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


HIDDEN = {_normalise(n) for n in os.environ.get("BENCH_HIDE_DISTS", "").split(",") if n}


def _dist_name(dist: md.Distribution) -> str:
    path = getattr(dist, "_path", None)  # ".../<name>-<version>.dist-info": no metadata parsing
    name = path.name.split("-")[0] if path is not None else (dist.metadata["Name"] or "")
    return _normalise(name)


def _hide() -> None:
    all_entry_points, all_distributions = md.entry_points, md.distributions

    def entry_points(**params: Any) -> Any:  # Kedro's CLI reads kedro.project_commands, kedro.init, …
        found: Any = all_entry_points()  # Python < 3.12: SelectableGroups (group -> EntryPoints)
        with warnings.catch_warnings():  # its dict interface is deprecated, and the only way to list them all
            warnings.simplefilter("ignore", DeprecationWarning)
            every = found if isinstance(found, md.EntryPoints) else [ep for eps in found.values() for ep in eps]
        kept = md.EntryPoints(ep for ep in every if ep.dist is None or _dist_name(ep.dist) not in HIDDEN)
        if params:
            return kept.select(**params)
        return md.SelectableGroups.load(kept) if hasattr(md, "SelectableGroups") else kept

    def distributions(**kwargs: Any) -> Iterator[md.Distribution]:  # pluggy reads kedro.hooks here
        return (dist for dist in all_distributions(**kwargs) if _dist_name(dist) not in HIDDEN)

    md.entry_points = entry_points
    md.distributions = distributions


def main() -> None:
    if HIDDEN:
        _hide()  # before Kedro's CLI is imported: it reads the entry points at import and at start-up
    from kedro.framework.cli import main as kedro_main

    sys.argv[0] = "kedro"
    kedro_main()  # exits with the CLI's own code


if __name__ == "__main__":
    main()
