"""Kedro's names as Azure ML accepts them: step (node) and input names are lower-case letters,
digits and ``_``, starting with a letter or ``_``.

Names that only differ in case or punctuation (``model.C``, ``model.c``) must stay apart: each
colliding name gets a short hash of its original spelling. The mapping is kept, so the job can be
tagged with it and read back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_LENGTH = 200  # Azure ML allows 255; room for a prefix and a hash
_NOT_ALLOWED = re.compile(r"[^a-z0-9_]+")


def sanitise(name: str) -> str:
    """``prep.make_table`` → ``prep_make_table``; a leading digit gets ``_`` before it."""
    safe = _NOT_ALLOWED.sub("_", name.lower()).strip("_") or "_"
    if safe[0].isdigit():
        safe = f"_{safe}"
    return safe[:MAX_LENGTH]


def _short_hash(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:6]


def safe_names(names: Iterable[str], prefix: str = "") -> dict[str, str]:
    """Each original name to a distinct Azure ML name (``prefix`` + sanitised, hashed on collision)."""
    originals = list(dict.fromkeys(names))
    sanitised = {name: prefix + sanitise(name) for name in originals}
    counts: dict[str, int] = {}
    for safe in sanitised.values():
        counts[safe] = counts.get(safe, 0) + 1
    return {name: f"{safe}_{_short_hash(name)}" if counts[safe] > 1 else safe for name, safe in sanitised.items()}
