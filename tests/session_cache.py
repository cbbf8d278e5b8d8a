"""Folders kept between test sessions in pytest's cache, where there is one."""

from __future__ import annotations

from pathlib import Path

import pytest


def cache_dir(pytestconfig: pytest.Config, name: str) -> Path | None:
    """pytest's cache folder ``name``; None under ``-p no:cacheprovider``, whose config has no ``cache``."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir(name) if cache is not None else None
