"""Which dataset the catalog declares under a name, asked without ever failing a hook."""

from __future__ import annotations

from typing import Any

# The config keys a file-based Kedro dataset keeps its path under, in the order they are looked up.
PATH_KEYS = ("filepath", "path")


def declared_dataset(catalog: Any, name: str) -> Any:
    """The catalog's dataset for ``name``, or ``None`` when it declares none (or cannot say)."""
    getter = getattr(catalog, "get", None)
    try:
        return getter(name) if getter is not None and name in catalog else None
    except Exception:  # noqa: BLE001 - a catalog that cannot say is treated as "not declared"
        return None
