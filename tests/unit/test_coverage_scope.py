"""The tests' coverage tooling: a library module's top-level code runs with the thread's tracer resting, and a
module outside the libraries that it imports is traced again (tests/coverage_scope.py)."""

from __future__ import annotations

import importlib
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.coverage_scope import rest_tracer_in_library_imports


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A library folder holding a module whose body imports a module from a project folder beside it."""
    tag = uuid.uuid4().hex[:8]
    library, project = tmp_path / "site-packages", tmp_path / "project"
    library.mkdir()
    project.mkdir()
    lib, mine = f"lib_{tag}", f"mine_{tag}"
    (library / f"{lib}.py").write_text(f"def helper():\n    return 1\n\nhelper()\nimport {mine}\n")
    (project / f"{mine}.py").write_text("def own():\n    return 2\n\nown()\n")
    sys.path[:0] = [str(library), str(project)]
    try:
        yield library, lib, mine
    finally:
        sys.path.remove(str(library))
        sys.path.remove(str(project))
        sys.modules.pop(lib, None)
        sys.modules.pop(mine, None)


def traced_import(name: str) -> tuple[list[str], Any]:
    """Import ``name`` in a new thread under a tracer that notes each frame started; the notes and the
    thread's tracer after the import."""
    seen: list[str] = []

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            seen.append(f"{Path(frame.f_code.co_filename).stem}:{frame.f_code.co_name}")
        return tracer

    after: list[Any] = []

    def target() -> None:
        sys.settrace(tracer)
        try:
            importlib.import_module(name)
        finally:
            after.append(sys.gettrace())
            sys.settrace(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return seen, after[0] if after else None


def test_a_library_body_is_not_traced_and_the_module_it_imports_is(modules: tuple[Path, str, str]) -> None:
    library, lib, mine = modules
    undo = rest_tracer_in_library_imports((str(library),))
    try:
        seen, after = traced_import(lib)
    finally:
        undo()

    assert [note for note in seen if note.startswith(("lib_", "mine_"))] == [f"{mine}:<module>", f"{mine}:own"]
    assert after is not None and after.__name__ == "tracer"  # the thread's tracer is back after the import


def test_without_it_the_library_body_is_traced(modules: tuple[Path, str, str]) -> None:
    _, lib, mine = modules

    seen, _ = traced_import(lib)

    assert [note for note in seen if note.startswith(("lib_", "mine_"))] == [
        f"{lib}:<module>",
        f"{lib}:helper",
        f"{mine}:<module>",
        f"{mine}:own",
    ]
